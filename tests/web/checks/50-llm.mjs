// 50-llm.mjs -- the LLM view: totals against tt-query --stats --sum, the
// table per model against tt-query --by model, charts by model and by
// service, the calls tables (ui-wf's gpt-4o-mini call, linked to its trace).
const Q = 'tt-query -D "$TERATRACE_STORE"';
const SUM = '--sum input_tokens,output_tokens,cost';
const iso = (ns) => new Date(Math.floor(ns / 1e9) * 1e3).toISOString().replace(/\.000Z$/, 'Z');
const jsonl = (s) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const near = (a, b) => Math.abs(Number(a) - Number(b)) <= 1e-9 * Math.max(1, Math.abs(b));

async function totals(p) {
	await p.waitForSelector('#tot-cost');
	const v = async (id) => Number(await p.getAttribute(id, 'data-v'));
	return { calls: await v('#tot-calls'), errors: await v('#tot-errors'), in: await v('#tot-in'),
		out: await v('#tot-out'), cost: await v('#tot-cost') };
}

// what tt-query prints for the range: sums over every record, calls = records with a model
function expected(t, since, until) {
	const all = jsonl(t.sh(`${Q} --stats ${SUM} --since ${since} --until ${until} -o jsonl`))[0];
	const calls = jsonl(t.sh(`${Q} --stats 'model!=' --since ${since} --until ${until} -o jsonl`))[0] || { count: 0, errors: 0 };
	return { calls: calls.count, errors: calls.errors, in: all.sums.input_tokens, out: all.sums.output_tokens, cost: all.sums.cost };
}

function same(t, got, want) {
	for (const k of Object.keys(want))
		t.assert.ok(near(got[k], want[k]), `${k}: page ${got[k]}, tt-query ${want[k]}`);
}

export const checks = [
	{ name: 'totals and the per-model table equal tt-query --stats --sum; charts by model and by service', async run(t) {
		const since = iso(t.data.now_ns - 10 * 60e9), until = iso(t.data.now_ns + 5 * 60e9);
		const p = await t.page(`/ui/llm?since=${since}&until=${until}`);
		const got = await totals(p);
		const want = expected(t, since, until);
		t.assert.ok(want.calls > 100 && want.cost > 0, 'tt-gen LLM calls in the window');
		same(t, got, want);
		// the table by model
		const rows = await p.$$eval('table.llm-groups tbody tr', (trs) => trs.map((tr) => {
			const r = { key: tr.dataset.key };
			for (const td of tr.querySelectorAll('td'))
				r[td.dataset.col] = td.dataset.v;
			return r;
		}));
		const byModel = jsonl(t.sh(`${Q} --stats --by model ${SUM} --since ${since} --until ${until} 'model!=' -o jsonl`));
		t.assert.deepEqual(rows.map((r) => r.key).sort(), byModel.map((r) => r.model).sort());
		for (const m of byModel) {
			const r = rows.find((x) => x.key === m.model);
			t.assert.equal(Number(r.count), m.count, m.model);
			t.assert.equal(Number(r.input_tokens), m.sums.input_tokens, m.model);
			t.assert.equal(Number(r.output_tokens), m.sums.output_tokens, m.model);
			t.assert.ok(near(r.cost, m.sums.cost), m.model);
			t.assert.equal(Number(r.p95), m.p95_ns, m.model);
		}
		// three charts, a series per model
		t.assert.equal(await p.$$eval('.sv-charts canvas', (c) => c.length), 3);
		const labels = await p.$$eval('#ch-cost .u-legend .u-series .u-label', (x) => x.slice(1).map((e) => e.textContent));
		t.assert.deepEqual(labels.sort(), byModel.map((r) => r.model).sort());
		await t.shot(p, 'llm');
		// by service: in the URL, survives a reload
		await p.selectOption('select[aria-label="Group by"]', 'service');
		await p.waitForURL(/by=service/);
		await p.reload();
		await p.waitForSelector('table.llm-groups tbody tr');
		t.assert.equal(await p.inputValue('select[aria-label="Group by"]'), 'service');
		const bySvc = jsonl(t.sh(`${Q} --stats --by service ${SUM} --since ${since} --until ${until} 'model!=' -o jsonl`));
		const svcLabels = await p.$$eval('#ch-in .u-legend .u-series .u-label', (x) => x.slice(1).map((e) => e.textContent));
		const top = bySvc.sort((a, b) => b.sums.cost - a.sums.cost).slice(0, 8).map((r) => r.service);
		t.assert.deepEqual(svcLabels.filter((l) => l !== 'other').sort(), top.sort());
		same(t, await totals(p), want);
	} },
	{ name: 'the fixture\'s gpt-4o-mini call is in the calls tables, linked to ui-wf', async run(t) {
		const rec = (await t.json('/api/traces/ui-wf')).traces.find((r) => r.kind === 'llm_call');
		// a window around ui-wf's call (and its copy ui-wf2, when 25-compare made it)
		const since = iso(rec.ts - 2e9), until = iso(rec.ts + 3e9);
		const p = await t.page(`/ui/llm?since=${since}&until=${until}`);
		same(t, await totals(p), expected(t, since, until));
		for (const table of ['table.llm-slow', 'table.llm-dear']) {
			const row = await p.waitForSelector(`${table} tbody tr[data-corr=ui-wf]`);
			t.assert.equal(await row.getAttribute('data-model'), 'gpt-4o-mini');
			t.assert.match(await row.textContent(), /812.*64.*\$0\.000160/);
			t.assert.equal(await row.$eval('td:nth-child(4)', (td) => Number(td.dataset.v)), rec.dur);
		}
		// the link opens the trace with the call selected
		await p.click('table.llm-slow tbody tr[data-corr=ui-wf] a');
		await p.waitForURL((u) => u.pathname === '/ui/trace/ui-wf');
		t.assert.equal(new URL(p.url()).searchParams.get('sel'), 's:' + rec.span);
		// in the wide window, the model's row selected: the calls tables show only its calls
		const wide = `/ui/llm?since=${iso(t.data.now_ns - 10 * 60e9)}&until=${iso(t.data.now_ns + 5 * 60e9)}`;
		const q = await t.page(wide + '&sel=gpt-4o-mini&sort=cost');
		await q.waitForSelector('table.llm-slow tbody tr');
		const models = await q.$$eval('table.llm-slow tbody tr, table.llm-dear tbody tr', (trs) => trs.map((tr) => tr.dataset.model));
		t.assert.ok(models.length > 0 && models.every((m) => m === 'gpt-4o-mini'), models.join(','));
		// slowest first
		const slow = await q.$$eval('table.llm-slow td:nth-child(4)', (x) => x.map((td) => Number(td.dataset.v)));
		t.assert.deepEqual(slow, [...slow].sort((a, b) => b - a));
	} },
];
