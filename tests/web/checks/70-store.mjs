// 70-store.mjs -- the Store view: /api/store's numbers, a gc preview.
const fmt = (n) => Number(n).toLocaleString('en-US');

export const checks = [
	{ name: 'totals and segments as /api/store; a max-age preview lists what gc would delete', async run(t) {
		const s = await t.json('/api/store');
		const p = await t.page('/ui/store');
		await p.waitForSelector('.cards');
		t.assert.match(await p.textContent('.cards'), new RegExp(fmt(s.records) + '\\s*records'));
		t.assert.equal(await p.locator('table[aria-label=Segments] tbody tr').count(), s.segment_list.length);
		await t.shot(p, 'store');
		await p.fill('input[aria-label="preview max age"]', '1s');
		await p.press('input[aria-label="preview max age"]', 'Enter');
		await p.waitForURL(/max_age=1s/);
		const g = await t.json('/api/store?max_age=1s');
		await p.waitForSelector('[aria-live=polite]:has-text("under these settings")');
		const said = await p.textContent('[aria-live=polite]');
		if (g.gc.count)
			t.assert.match(said, new RegExp(`${g.gc.count} sealed segment`));
		else
			t.assert.match(said, /Nothing would be deleted/);
		t.assert.equal(await p.locator('.badge.err', { hasText: 'would be deleted' }).count(), g.gc.count);
		t.assert.equal(await p.textContent('#cmdline'), 'tt-gc --dry-run --max-age 1s');
	} },
];
