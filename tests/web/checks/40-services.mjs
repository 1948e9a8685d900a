// 40-services.mjs -- the Services view: its tables against /api/services and
// tt-query --stats --by name, its charts, the URL as its state, a chart bucket (a
// click or a drag) opening the Traces view on that window.

// A fixed window around the suite's data, in the RFC 3339 the view and
// ttd both accept, so the page and the API answer for the same records.
function window(t) {
	const iso = (ns) => new Date(Math.floor(ns / 1e9) * 1e3).toISOString().replace(/\.000Z$/, 'Z');
	return { since: iso(t.data.now_ns - 10 * 60e9), until: iso(t.data.now_ns + 5 * 60e9) };
}

// the rows of a table the view drew: {key, col: value (data-v)}
const tableRows = (p, sel) => p.$$eval(sel + ' tbody tr', (trs) => trs.map((tr) => {
	const r = { key: tr.dataset.key };
	for (const td of tr.querySelectorAll('td'))
		r[td.dataset.col] = td.dataset.v === undefined ? null : td.dataset.v;
	return r;
}));

const near = (a, b) => Math.abs(Number(a) - Number(b)) <= 1e-9 * Math.max(1, Math.abs(b));

// the busiest bucket of a service in the API's series, and its x on the chart
async function busiest(t, p, w, service) {
	const api = await t.json(`/api/services?since=${w.since}&until=${w.until}&every=10s`);
	const s = api.services.find((x) => x.service === service);
	const top = s.series.reduce((a, b) => (b.count > a.count ? b : a));
	const fig = await p.$('#ch-rate');
	const from = Number(await fig.getAttribute('data-from')), to = Number(await fig.getAttribute('data-to'));
	const box = await (await p.$('#ch-rate .u-over')).boundingBox();
	const xOf = (ns) => box.x + (ns - from) / (to - from) * box.width;
	return { top, xOf, y: box.y + box.height / 2, every: api.every_ns };
}

export const checks = [
	{ name: 'the services table equals /api/services; sorting by a header', async run(t) {
		const w = window(t);
		const p = await t.page(`/ui/services?since=${w.since}&until=${w.until}`);
		await p.waitForSelector('table.sv-services tbody tr');
		const rows = await tableRows(p, 'table.sv-services');
		const api = await t.json(`/api/services?since=${w.since}&until=${w.until}`);
		t.assert.ok(api.services.length > 5, 'tt-gen services in the window');
		t.assert.deepEqual(rows.map((r) => r.key).sort(), api.services.map((s) => s.service).sort());
		for (const s of api.services) {
			const r = rows.find((x) => x.key === s.service);
			t.assert.equal(Number(r.count), s.count, s.service + ' count');
			t.assert.equal(Number(r.errors), s.errors, s.service + ' errors');
			t.assert.ok(near(r.error_rate, s.error_rate), `${s.service} error rate ${r.error_rate} != ${s.error_rate}`);
			t.assert.ok(near(r.rate, s.rate), `${s.service} rate ${r.rate} != ${s.rate}`);
			t.assert.equal(r.p99 === null ? null : Number(r.p99), s.p99_ns, s.service + ' p99');
		}
		// default order: rate, descending; a click on p95 sorts by it (in the URL)
		t.assert.deepEqual(rows.map((r) => Number(r.rate)), rows.map((r) => Number(r.rate)).sort((a, b) => b - a));
		await p.click('table.sv-services th button[data-key=p95]');
		await p.waitForURL(/sort=-p95/);
		const by95 = (await tableRows(p, 'table.sv-services')).map((r) => r.p95).filter((v) => v !== null).map(Number);
		t.assert.deepEqual(by95, [...by95].sort((a, b) => b - a));
		await p.click('table.sv-services th button[data-key=p95]');
		await p.waitForURL(/sort=p95/);
		const up95 = (await tableRows(p, 'table.sv-services')).map((r) => r.p95).filter((v) => v !== null).map(Number);
		t.assert.deepEqual(up95, [...up95].sort((a, b) => a - b));
		// the command line is tt-query's
		t.assert.equal(await p.textContent('#cmdline'), `tt-query --stats --by service --since ${w.since} --until ${w.until}`);
	} },
	{ name: 'a service chosen: its operations equal tt-query --by name, p50/p95/p99 charts, the URL survives a reload', async run(t) {
		const w = window(t);
		const p = await t.page(`/ui/services?since=${w.since}&until=${w.until}`);
		await p.waitForSelector('table.sv-services tbody tr[data-key=orders]');
		await p.click('table.sv-services tbody tr[data-key=orders]');
		await p.waitForURL(/service=orders/);
		await p.waitForSelector('table.sv-ops tbody tr');
		const check = async () => {
			const ops = await tableRows(p, 'table.sv-ops');
			// tt-query's rows (ttd's /api/stats?by=name&service=S answers none
			// on its rollup path: see services.js)
			const api = { rows: t.sh(`tt-query -D "$TERATRACE_STORE" --stats --by name --service orders --since ${w.since} --until ${w.until} -o jsonl`)
				.trim().split('\n').map((l) => JSON.parse(l)) };
			t.assert.ok(api.rows.length > 1);
			t.assert.equal(ops.length, api.rows.length);
			for (const a of api.rows) {
				const r = ops.find((x) => x.key === a.name);
				t.assert.ok(r, 'operation ' + a.name);
				t.assert.equal(Number(r.count), a.count, a.name);
				t.assert.equal(Number(r.errors), a.errors, a.name);
				t.assert.ok(near(r.error_rate, a.error_rate), a.name);
				t.assert.equal(r.max === null ? null : Number(r.max), a.max_ns, a.name);
				t.assert.equal(r.p95 === null ? null : Number(r.p95), a.p95_ns, a.name);
			}
			// the latency chart is a uPlot canvas with p50, p95 and p99
			await p.waitForSelector('#ch-latency canvas');
			const labels = await p.$$eval('#ch-latency .u-legend .u-series .u-label', (x) => x.map((e) => e.textContent));
			t.assert.deepEqual(labels.slice(1), ['p50', 'p95', 'p99']);
			t.assert.equal(await p.$$eval('.sv-charts canvas', (c) => c.length), 3);
			t.assert.equal(await p.textContent('table.sv-services tr.sel td[data-col=service]'), 'orders');
		};
		await check();
		await p.selectOption('select[aria-label="Bucket size"]', '30s');
		await p.waitForURL(/every=30s/);
		await p.evaluate(() => document.getElementById('view').scrollTo(0, 0));
		await t.shot(p, 'services');
		await p.reload();
		await p.waitForSelector('table.sv-ops tbody tr');
		t.assert.match(p.url(), /service=orders/);
		t.assert.equal(new URL(p.url()).searchParams.get('since'), w.since);
		t.assert.equal(await p.inputValue('select[aria-label="Bucket size"]'), '30s');
		await check();
		// a preset range goes in the URL too
		await p.selectOption('select[aria-label="Time range"]', '6h');
		await p.waitForURL((u) => u.searchParams.get('since') === '6h' && !u.searchParams.get('until'));
		await p.reload();
		await p.waitForSelector('table.sv-ops tbody tr');
		t.assert.equal(await p.inputValue('select[aria-label="Time range"]'), '6h');
		t.assert.match(p.url(), /service=orders/);
	} },
	{ name: 'a click on a chart bucket opens the Traces view on that bucket and service', async run(t) {
		const w = window(t);
		const p = await t.page(`/ui/services?since=${w.since}&until=${w.until}&every=10s&service=orders`);
		await p.waitForSelector('#ch-rate canvas');
		const b = await busiest(t, p, w, 'orders');
		await p.mouse.move(b.xOf(b.top.ts), b.y);
		await p.mouse.click(b.xOf(b.top.ts), b.y);
		await p.waitForURL((u) => u.pathname === '/ui/');
		const q = new URL(p.url()).searchParams;
		t.assert.equal(q.get('service'), 'orders');
		t.assert.equal(Date.parse(q.get('since')) * 1e6, b.top.ts);
		t.assert.equal(Date.parse(q.get('until')) * 1e6, b.top.ts + b.every);
		// the Traces view lists the ids of that window
		await p.waitForSelector('table tbody tr a[href^="/ui/trace/"]');
	} },
	{ name: 'a drag over a chart opens the Traces view on the selected window', async run(t) {
		const w = window(t);
		const p = await t.page(`/ui/services?since=${w.since}&until=${w.until}&every=10s&service=orders`);
		await p.waitForSelector('#ch-latency canvas');
		const b = await busiest(t, p, w, 'orders');
		const fig = await p.$('#ch-rate');
		const px = (Number(await fig.getAttribute('data-to')) - Number(await fig.getAttribute('data-from'))) / 300;
		const x0 = b.xOf(b.top.ts - 60e9), x1 = b.xOf(b.top.ts + 60e9);
		await p.mouse.move(x0, b.y);
		await p.mouse.down();
		await p.mouse.move((x0 + x1) / 2, b.y, { steps: 3 });
		await p.mouse.move(x1, b.y, { steps: 3 });
		await p.mouse.up();
		await p.waitForURL((u) => u.pathname === '/ui/');
		const q = new URL(p.url()).searchParams;
		t.assert.equal(q.get('service'), 'orders');
		const since = Date.parse(q.get('since')) * 1e6, until = Date.parse(q.get('until')) * 1e6;
		// the window is what was dragged over (to the second, a pixel's time either way)
		t.assert.ok(Math.abs(since - (b.top.ts - 60e9)) <= px + 1e9, `since ${q.get('since')}`);
		t.assert.ok(Math.abs(until - (b.top.ts + 60e9)) <= px + 1e9, `until ${q.get('until')}`);
	} },
];
