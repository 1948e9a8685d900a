// 25-compare.mjs -- the Compare view: a trace against itself, against a
// copy with one span twice as long, against an unrelated trace.
const Q = 'tt-query -D "$TERATRACE_STORE"';

const rowsOf = (p) => p.$$eval('tr.cmp-row', (rows) => rows.map((r) => ({
	name: r.querySelector('.name').textContent, depth: Number(r.dataset.depth),
	diff: r.classList.contains('diff'), dur: r.classList.contains('d-dur'),
	onlyA: r.classList.contains('d-only-a'), onlyB: r.classList.contains('d-only-b'),
	delta: r.querySelector('.cmp-delta').textContent.trim(),
})));

// ui-wf2: ui-wf with db.insert twice as long, stored once per suite run
async function ingestCopy(t) {
	if ((await fetch(t.url('/api/traces/ui-wf2'))).ok)
		return;
	const recs = t.sh(`${Q} -o jsonl ui-wf`).trim().split('\n').map((l) => JSON.parse(l));
	for (const r of recs) {
		r.corr = 'ui-wf2';
		delete r.time;
		if (r.name === 'db.insert')
			r.dur *= 2;
	}
	const res = await fetch(t.url('/ingest'), { method: 'POST', headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ traces: recs }) });
	t.assert.equal(res.status, 200);
	await t.until(async () => {
		const r = await fetch(t.url('/api/traces/ui-wf2'));
		return r.ok && (await r.json()).count === recs.length;
	}, 5000, 'ui-wf2 stored');
}

export const checks = [
	{ name: 'a trace compared with itself has no differences', async run(t) {
		const n = (await t.json('/api/traces/ui-wf')).count;
		const p = await t.page('/ui/compare?a=ui-wf&b=ui-wf');
		await p.waitForSelector('tr.cmp-row');
		const rows = await rowsOf(p);
		t.assert.equal(rows.length, n);
		t.assert.deepEqual(rows.filter((r) => r.diff), []);
		t.assert.match(await p.textContent('.cmp-sum'), /no differences/);
	} },
	{ name: 'a copy with one span twice as long: that span is marked, with its difference and ratio', async run(t) {
		await ingestCopy(t);
		const p = await t.page('/ui/compare?a=ui-wf&b=ui-wf2');
		await p.waitForSelector('tr.cmp-row');
		const rows = await rowsOf(p);
		const a = t.sh(`${Q} -o jsonl ui-wf`).trim().split('\n').map((l) => JSON.parse(l));
		t.assert.equal(rows.length, a.length);
		t.assert.deepEqual(rows.filter((r) => r.diff).map((r) => r.name), ['db.insert']);
		const ins = rows.find((r) => r.name === 'db.insert');
		const want = a.find((r) => r.name === 'db.insert').dur / 1e6;
		t.assert.ok(ins.dur, 'duration marked');
		t.assert.match(ins.delta, new RegExp(`^\\+${want.toFixed(1)} ms ×2\\.00$`), ins.delta);
		// the tree is aligned: depths as in the trace view's waterfall
		t.assert.deepEqual(rows.filter((r) => r.name !== 'orders.db').map((r) => r.depth), [0, 1, 1, 2, 2]);
		await p.click('tr.cmp-row.d-dur .name');
		await p.waitForSelector('.cmp-detail');
		t.assert.match(await p.textContent('.cmp-detail tr.diff'), /dur/);
		await p.keyboard.press('Escape');
		await t.shot(p, 'compare');
		// inputs change a and b; the URL follows
		await p.fill('input[aria-label=B]', 'ui-seq');
		await p.press('input[aria-label=B]', 'Enter');
		await p.waitForURL(/b=ui-seq/);
		await p.waitForSelector('tr.cmp-row.d-only-b');
		const other = await rowsOf(p);
		const seq = (await t.json('/api/traces/ui-seq')).count;
		t.assert.equal(other.filter((r) => r.onlyA).length, a.length);
		t.assert.equal(other.filter((r) => r.onlyB).length, seq);
	} },
];
