// 60-alerts.mjs -- the Alerts view: t7400's rule ui-errors fires; the view
// shows it with the values /api/alerts has, and its events.
export const checks = [
	{ name: 'the firing rule, its groups and values as /api/alerts; events listed', async run(t) {
		const a = await t.until(async () => {
			const j = await t.json('/api/alerts');
			return j.rules.some((r) => r.groups.some((g) => g.state === 'firing')) && j.recent.length && j;
		}, 10000, 'an alert to fire');
		const p = await t.page('/ui/alerts');
		await p.waitForSelector('section.rule');
		const rule = a.rules.find((r) => r.name === 'ui-errors');
		const firing = rule.groups.filter((g) => g.state === 'firing');
		const box = p.locator('section.firing-now');
		for (const g of firing) {
			const row = box.locator('tr', { hasText: g.group }).first();
			t.assert.match(await row.textContent(), /ui-errors/);
		}
		const groups = p.locator('section.rule[aria-label="rule ui-errors"] tbody tr');
		t.assert.equal(await groups.count(), rule.groups.length);
		// a group's value in the view is the API's (values move: read both again)
		const b = await t.json('/api/alerts');
		const g0 = b.rules.find((r) => r.name === 'ui-errors').groups.find((g) => g.state === 'firing');
		await p.waitForFunction(([grp, v]) => [...document.querySelectorAll('section.rule tbody tr')]
			.some((tr) => tr.children[0].textContent === grp && tr.children[2].textContent === v),
		[g0.group, Number(g0.value).toLocaleString('en-US', { maximumFractionDigits: 2 })], { timeout: 8000 });
		t.assert.ok(await p.locator('section.recent tbody tr', { hasText: 'firing' }).count() > 0);
		// a group links to its service
		const link = p.locator('section.firing-now a').first();
		t.assert.match(await link.getAttribute('href'), /\/ui\/services\?service=/);
		await t.shot(p, 'alerts');
	} },
];
