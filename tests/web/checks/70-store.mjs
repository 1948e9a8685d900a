// 70-store.mjs -- the Store view: /api/store's numbers, the segments as
// tt-stat -s lists them, a gc preview as /api/store?max_age= (and tt-gc
// --dry-run) says.
const fmt = (n) => Number(n).toLocaleString('en-US');
// format.js bytes(), for the sizes the view prints
function bytes(n) {
	const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (n >= 1024 && i < u.length - 1)
		n /= 1024, i++;
	return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
}
const card = async (p, k) => (await p.locator('.card', { has: p.locator('.k', { hasText: new RegExp(`^${k}$`) }) })
	.locator('.v').textContent()).trim();

export const checks = [
	{ name: 'totals and segments as /api/store and tt-stat -s', async run(t) {
		const s = await t.json('/api/store');
		const cli = JSON.parse(t.sh(`tt-stat -D '${t.data.store}' -s --no-services -o json`));
		const p = await t.page('/ui/store');
		await p.waitForSelector('.cards');
		// records and rollup rows move while ttd runs (alerts are stored as
		// records; rollup retention prunes rows): the view's figure must be
		// one /api/store gave at some point around the page's own request
		const between = async (k, f) => {
			const v = Number((await card(p, k)).replace(/,/g, ''));
			const after = f(await t.json('/api/store'));
			t.assert.ok(v >= Math.min(f(s), after) && v <= Math.max(f(s), after),
				`${k}: ${v} not between ${f(s)} and ${after}`);
		};
		await between('records', (x) => x.records);
		t.assert.equal(await card(p, `segments, ${fmt(s.sealed)} sealed`), fmt(s.segments));
		t.assert.equal(await card(p, 'on disk \\(data\\)'), bytes(s.data_bytes));
		t.assert.equal(await card(p, 'index'), bytes(s.index_bytes));
		t.assert.equal(await card(p, 'compression'), s.ratio.toFixed(2) + '×');
		await between('rollup rows', (x) => x.rollup_rows);
		t.assert.ok(Number.isInteger(s.format_version), 'format_version in /api/store');
		t.assert.match(await p.textContent('main .bar'), new RegExp(`format version ${s.format_version}`));
		// a row per segment, named and counted as tt-stat -s does (records
		// written since the API call may have grown the newest one)
		const rows = await p.locator('table[aria-label=Segments] tbody tr').evaluateAll((trs) =>
			trs.map((tr) => [...tr.children].map((td) => td.textContent.trim())));
		t.assert.equal(rows.length, cli.segment_list.length);
		for (const [i, seg] of cli.segment_list.entries()) {
			t.assert.equal(rows[i][0], seg.segment);
			t.assert.equal(rows[i][1], seg.state === 'sealed' ? 'sealed' : seg.held ? 'active' : 'idle');
			if (seg.state === 'sealed')
				t.assert.deepEqual([rows[i][2], rows[i][3]], [fmt(seg.records), bytes(seg.bytes)]);
		}
		// sortable: by records, largest first
		await p.click('table[aria-label=Segments] th >> text=records');
		await p.click('table[aria-label=Segments] th >> text=records');
		await p.waitForURL(/sort=-records/);
		const counts = await p.locator('table[aria-label=Segments] tbody tr td:nth-child(3)').allTextContents();
		const n = counts.map((x) => Number(x.replace(/,/g, '')));
		t.assert.deepEqual(n, [...n].sort((a, b) => b - a));
		t.assert.match(await p.textContent('#cmdline-stat'),
			/^tt-stat -D \S+ -s$/);
		await p.goto(t.url('/ui/store'));
		await p.waitForSelector('.cards');
		await t.shot(p, 'store');
	} },
	{ name: 'a max-age preview lists what gc would delete, as tt-gc --dry-run', async run(t) {
		const p = await t.page('/ui/store');
		await p.waitForSelector('.cards');
		await p.fill('input[aria-label="preview max age"]', '1s');
		await p.press('input[aria-label="preview max age"]', 'Enter');
		await p.waitForURL(/max_age=1s/);
		await p.waitForSelector('[aria-live=polite]:has-text("under these settings")');
		const g = await t.json('/api/store?max_age=1s');
		const want = JSON.parse(t.sh(`tt-gc -D '${t.data.store}' --max-age 1s --dry-run -o json`));
		t.assert.equal(g.gc.count, want.removed);
		const said = await p.textContent('[aria-live=polite]');
		if (g.gc.count)
			t.assert.match(said, new RegExp(`^${fmt(g.gc.count)} sealed segments?, ${fmt(g.gc.records)} records?, ${bytes(g.gc.bytes).replace('.', '\\.')} would be deleted`));
		else
			t.assert.match(said, /Nothing would be deleted/);
		const marked = await p.locator('table[aria-label=Segments] tbody tr', { has: p.locator('.badge.err') })
			.locator('td:first-child').allTextContents();
		t.assert.deepEqual(marked.sort(), want.segments.map((x) => x.segment).sort());
		t.assert.equal(await p.textContent('#cmdline'), `tt-gc -D ${t.data.store} --dry-run --max-age 1s`);
	} },
];
