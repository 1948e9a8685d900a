// 20-trace.mjs -- the Trace view: the waterfall against tt-query -o tree,
// errors, search, collapse, the detail pane, the sequence diagram of a
// checkpoint trace, hostile records, the 10 000-span trace, records that
// arrive while the page is open, the JSON and OTLP downloads.
import { readFileSync } from 'node:fs';

const Q = 'tt-query -D "$TERATRACE_STORE"';

// "120.0ms", "20.5us", "1.234s", "120.0 ms", "20.5 µs" -> ns
function ns(s) {
	const m = /^\+?([\d.]+)\s*(ns|us|µs|ms|s)$/.exec(s.trim());
	if (!m)
		throw new Error(`not a duration: '${s}'`);
	return Number(m[1]) * { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9 }[m[2]];
}

const near = (a, b) => Math.abs(a - b) <= Math.max(1, Math.abs(b) * 0.006);
const isErr = (r) => r.level === 'error' || r.level === 'fatal' || String(r.status || '').toLowerCase() === 'error';

async function open(t, path) {
	const p = await t.page(path);
	await p.waitForSelector('.wf-row, .sq, .tr .error-box');
	return p;
}

// the span rows in the DOM: depth, "service name", duration label, flags
const spanRows = (p) => p.$$eval('.wf-row', (rows) => rows.map((r) => ({
	key: r.dataset.key, kind: r.dataset.kind, depth: Number(r.dataset.depth),
	label: r.querySelector('.wf-svc').textContent + ' ' + r.querySelector('.name').textContent,
	dur: r.querySelector('.wf-dur').textContent, err: r.classList.contains('errrow'),
	crit: r.classList.contains('critrow'), match: r.classList.contains('match'),
})));

export const checks = [
	{ name: 'ui-wf: the waterfall has the nesting and durations of tt-query -o tree', async run(t) {
		const tree = t.sh(`${Q} -o tree ui-wf`).trim().split('\n').slice(1);
		// spans are the lines with a duration (point records show "+offset")
		const want = tree.map((l) => /^( *)(.*?)\s+(\S+) \|/.exec(l)).filter((m) => m && !m[3].startsWith('+'))
			.map((m) => ({ depth: m[1].length / 2, label: m[2].replace(/ \[error\]$/, ''), dur: m[3] }));
		t.assert.equal(want.length, 5, tree.join('\n'));
		const p = await open(t, '/ui/trace/ui-wf');
		const rows = await spanRows(p);
		const got = rows.filter((r) => r.kind === 'span');
		t.assert.equal(got.length, want.length, JSON.stringify(got));
		want.forEach((w, i) => {
			const g = got[i];
			t.assert.equal(g.label, w.label, `row ${i}`);
			t.assert.equal(g.depth, w.depth, `${w.label}: depth`);
			t.assert.ok(near(ns(g.dur), ns(w.dur)), `${w.label}: ${g.dur} on the page, ${w.dur} by tt-query`);
		});
		// the log record naming span c1 is a child row of db.insert
		const recs = t.sh(`${Q} -o jsonl ui-wf`).trim().split('\n').map((l) => JSON.parse(l));
		const log = recs.find((r) => r.kind === 'log');
		const parent = rows.find((r) => r.key === 's:' + log.span);
		const li = rows.findIndex((r) => r.kind === 'point' && r.label.includes(log.name));
		t.assert.ok(li > 0 && rows[li].depth === parent.depth + 1, JSON.stringify(rows));
		// the header counts the spans and the errors
		const facts = await p.textContent('.tr-facts');
		const fact = (what) => p.textContent(`.tr-facts [data-fact=${what}] b`).then(Number);
		t.assert.equal(await fact('spans'), want.length);
		t.assert.equal(await fact('records'), recs.length);
		t.assert.equal(await fact('errors'), recs.filter(isErr).length);
		t.assert.equal(await p.textContent('#cmdline'), 'tt-query ui-wf');
	} },
	{ name: 'ui-wf: errors marked, n jumps to the error, critical path, search, collapse', async run(t) {
		const recs = (await t.json('/api/traces/ui-wf')).traces;
		const p = await open(t, '/ui/trace/ui-wf');
		let rows = await spanRows(p);
		const errKeys = recs.filter((r) => isErr(r) && r.span && r.kind !== 'log').map((r) => 's:' + r.span);
		t.assert.deepEqual(rows.filter((r) => r.err).map((r) => r.key), errKeys);
		t.assert.ok(await p.$(`.wf-row[data-key="${errKeys[0]}"] .badge.err`), 'error badge');
		// the critical path: from the root, the child span that ends last
		const spans = recs.filter((r) => r.kind === 'span' || r.kind === 'llm_call');
		const crit = [];
		for (let c = spans.find((r) => !r.parent); c; ) {
			crit.push('s:' + c.span);
			const kids = spans.filter((r) => r.parent === c.span);
			c = kids.sort((a, b) => (b.ts + b.dur) - (a.ts + a.dur))[0];
		}
		t.assert.deepEqual(rows.filter((r) => r.crit).map((r) => r.key), crit);
		// n: the next error
		await p.keyboard.press('n');
		await p.waitForURL(/sel=s%3Ac1|sel=s:c1/);
		t.assert.match(await p.textContent('.vrow.sel'), /db\.insert/);
		t.assert.match(await p.textContent('.tr-detail h2'), /db\.insert/);
		await p.keyboard.press('Escape');
		t.assert.equal(await p.$('.tr-detail'), null);
		// search
		await p.keyboard.press('/');
		await p.keyboard.type('db.insert');
		await p.keyboard.press('Enter');
		await p.waitForSelector('.wf-row.match');
		rows = await spanRows(p);
		t.assert.deepEqual(rows.filter((r) => r.match).map((r) => r.label), ['orders db.insert']);
		t.assert.match(await p.textContent('.tr-tools [role=status]'), /^1 match/);
		t.assert.match(await p.textContent('.vrow.sel'), /db\.insert/);
		await p.fill('#tr-q', 'postgresql'); // attrs text
		await p.waitForFunction(() => document.querySelectorAll('.wf-row.match').length === 1);
		// collapse orders.create: its children go, and come back
		await p.fill('#tr-q', '');
		const before = (await spanRows(p)).length;
		await p.click('.wf-row[data-key="s:b2"] .wf-tog');
		rows = await spanRows(p);
		t.assert.ok(!rows.some((r) => /db\.insert|chat\.completions/.test(r.label)), JSON.stringify(rows));
		t.assert.equal(rows.length, before - 3);
		await p.click('.wf-row[data-key="s:b2"] .wf-tog');
		t.assert.equal((await spanRows(p)).length, before);
		// and from the keyboard: Left collapses the selected row, Right expands it
		await p.click('.wf-row[data-key="s:b2"] .name');
		await p.keyboard.press('ArrowLeft');
		t.assert.equal((await spanRows(p)).length, before - 3);
		await p.keyboard.press('ArrowRight');
		t.assert.equal((await spanRows(p)).length, before);
		// n on a collapsed error opens its parent
		await p.keyboard.press('ArrowLeft');
		await p.keyboard.press('Escape');
		await p.keyboard.press('n');
		await p.waitForSelector('.vrow.sel .wf-row[data-key="s:c1"]');
	} },
	{ name: 'ui-wf: the detail pane shows fields, attributes, span events and log records', async run(t) {
		const p = await open(t, '/ui/trace/ui-wf?sel=s:b2');
		await p.waitForSelector('.tr-detail');
		t.assert.match(await p.textContent('.tr-detail [aria-label="Span events"]'), /cache\.miss.*cart:42/s);
		await p.click('.wf-row[data-key="s:c1"] .name');
		await p.waitForURL(/sel=s(%3A|:)c1/);
		const d = await p.textContent('.tr-detail');
		t.assert.match(await p.textContent('.tr-detail [aria-label="Log records"]'), /retrying insert after conflict/);
		t.assert.match(d, /duplicate key value violates unique constraint/);
		t.assert.match(await p.textContent('.tr-detail [aria-label="Attributes"]'), /db\.system\s*postgresql/);
		// j/k move the selection and the pane follows
		await p.keyboard.press('j');
		t.assert.match(await p.textContent('.tr-detail h2'), /orders\.db|retrying/);
		await p.keyboard.press('k');
		t.assert.match(await p.textContent('.tr-detail h2'), /db\.insert/);
		await t.shot(p, 'trace');
	} },
	{ name: 'ui-seq: a sequence diagram with each ->/<- pair\'s latency', async run(t) {
		const recs = (await t.json('/api/traces/ui-seq')).traces;
		const want = recs.filter((r) => r.dir === '->').map((q) => {
			const a = recs.find((r) => r.dir === '<-' && r.service === q.service && r.name === q.name);
			return `${q.service} ${q.name} ${Math.round((a.ts - q.ts) / 1e5) / 10}`;
		});
		t.assert.deepEqual(want, ['web GET /cart 24', 'api cart.load 18', 'db SELECT cart 12']);
		const p = await open(t, '/ui/trace/ui-seq');
		await p.waitForSelector('svg.sq .sq-lat');
		const got = await p.$$eval('.sq-lat', (g) => g.map((x) => `${x.dataset.service} ${x.dataset.name} ${x.textContent}`));
		t.assert.deepEqual(got.map((g) => g.replace(/\s*·\s*([\d.]+) ms$/, (m, v) => ' ' + Number(v))).sort(), want.slice().sort());
		t.assert.deepEqual(await p.$$eval('.sq-lane text', (x) => x.map((e) => e.textContent)), ['(caller)', 'web', 'api', 'db']);
		const arrows = await p.$$eval('.sq-arrow .sq-name', (x) => x.map((e) => e.firstChild.textContent));
		t.assert.deepEqual(arrows, recs.map((r) => `${r.dir} ${r.name}`));
		await p.click('.sq-arrow[data-key] .sq-name >> nth=3');
		await p.waitForSelector('.tr-detail');
		t.assert.match(await p.textContent('.tr-detail'), /<-/);
		await t.shot(p, 'trace-sequence');
		await p.click('[role=tab] >> text=Waterfall');
		await p.waitForSelector('.wf-row');
		t.assert.equal(await p.$$eval('.wf-row', (r) => r.length), recs.length);
	} },
	{ name: 'ui-xss: markup in records stays text', async run(t) {
		const p = await open(t, '/ui/trace/ui-xss');
		await p.click('.wf-row .name');
		await p.waitForSelector('.tr-detail');
		const txt = await p.textContent('#view');
		t.assert.match(txt, /<img src=x onerror=/);
		t.assert.match(txt, /<script>window.__xss=1<\/script>/);
		t.assert.match(txt, /<b>svc<\/b>/);
		t.assert.equal(await p.$$eval('#view img, #view script, #view a[href^=javascript]', (x) => x.length), 0);
		t.assert.equal(await p.$$eval('#view b', (x) => x.filter((e) => e.textContent === 'svc').length), 0);
		t.assert.equal(await p.evaluate(() => window.__xss), undefined);
	} },
	{ name: 'ui-big: the big trace opens within the guard time', async run(t) {
		const p = await t.page();
		// the page notes when the first rows and the full count are on screen
		await p.addInitScript((n) => {
			new MutationObserver((_, o) => {
				const b = document.querySelector('.tr-facts [data-fact=spans] b');
				if (document.querySelector('.wf-row[data-key="s:s0"]') && b && b.textContent === n.toLocaleString('en-US')) {
					window.__open = performance.now(); // since the navigation started
					o.disconnect();
				}
			}).observe(document, { subtree: true, childList: true, characterData: true });
		}, t.data.big);
		const t0 = Date.now();
		await p.goto(t.url('/ui/trace/ui-big'), { waitUntil: 'domcontentloaded' });
		const ms = Math.round(await t.until(() => p.evaluate(() => window.__open), 10000, 'ui-big on screen'));
		console.log(`# ui-big: ${t.data.big} spans on screen ${ms} ms after the navigation started (${Date.now() - t0} ms as the test saw it)`);
		t.assert.ok(ms <= 1500, `ui-big took ${ms} ms`);
		// only the rows in view are in the DOM; the end of the list is reachable
		t.assert.ok(await p.$$eval('.wf-row', (r) => r.length) < 200);
		await p.keyboard.press('E'); // no errors: nothing moves, nothing throws
		await p.click('.wf-row[data-key="s:s0"] .name');
		await p.keyboard.press('/');
		await p.keyboard.type(`op-${(t.data.big - 1) % 13}`);
		await p.keyboard.press('Enter');
		await p.keyboard.press('N');
		await p.keyboard.press('N');
		await p.waitForSelector('.vrow.sel .wf-row.match');
	} },
	{ name: 'a record that arrives while the page is open appears without a reload', async run(t) {
		const id = 'ui-late-' + Date.now();
		const post = (rec) => fetch(t.url('/ingest'), { method: 'POST', headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ traces: [rec] }) }).then((r) => t.assert.equal(r.status, 200));
		const now = Date.now();
		await post({ correlation_id: id, source_id: 'early', timestamp: now - 50, operation: 'early.op' });
		await t.until(async () => (await fetch(t.url('/api/traces/' + id))).ok, 5000, 'the first record');
		const p = await open(t, '/ui/trace/' + id);
		await p.waitForSelector('.badge.live');
		await p.evaluate(() => { window.__same = 1; });
		t.assert.equal(await p.$$eval('.wf-row', (r) => r.length), 1);
		await post({ correlation_id: id, source_id: 'late', timestamp: now, operation: 'late.op', level: 'error' });
		await p.waitForSelector('.wf-row:has-text("late.op")', { timeout: 5000 });
		t.assert.equal(await p.$$eval('.wf-row', (r) => r.length), 2);
		t.assert.equal(await p.textContent('.tr-facts [data-fact=records] b'), '2');
		t.assert.equal(await p.textContent('.tr-facts [data-fact=errors] b'), '1');
		t.assert.equal(await p.evaluate(() => window.__same), 1);
	} },
	{ name: 'downloads: JSON lines as tt-query -o jsonl, OTLP as tt-query -o otlp; compare with…', async run(t) {
		const p = await open(t, '/ui/trace/ui-wf');
		const file = async (button) => {
			const [d] = await Promise.all([p.waitForEvent('download'), p.click(`button:has-text("${button}")`)]);
			return readFileSync(await d.path(), 'utf8');
		};
		t.assert.equal(await file('download JSON'), t.sh(`${Q} -o jsonl ui-wf`));
		t.assert.equal(await file('download OTLP'), t.sh(`${Q} -o otlp ui-wf`));
		await p.click('button:has-text("compare with")');
		await p.fill('input[aria-label="id to compare with"]', 'ui-seq');
		await p.keyboard.press('Enter');
		await p.waitForURL(/\/ui\/compare\?a=ui-wf&b=ui-seq/);
	} },
];
