// 60-alerts.mjs -- the Alerts view: t7400's rule ui-errors (errors by
// service over 1h above 1) fires; the view shows it with the groups, states
// and values /api/alerts has, and its events, linked to their service.
const fmt = (v) => Number(v).toLocaleString('en-US', { maximumFractionDigits: 2 });
const stateWord = (s) => (s === 'inactive' ? 'ok' : s);

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
		const chips = await p.locator('section.firing-now ul[aria-label="firing groups of ui-errors"] li a').allTextContents();
		// the page was read after the API: what fired then fires now (the rule's
		// window is an hour), more groups may have joined
		for (const g of firing)
			t.assert.ok(chips.includes(g.group), `${g.group} firing in /api/alerts, not in "Firing now": ${chips}`);
		// every group of the rule: name, state and value as the API has them
		// (values move as the window slides: compare with fresh reads until
		// the view's next refresh agrees)
		const rows = p.locator('section.rule[aria-label="rule ui-errors"] tbody tr');
		let last = '';
		await t.until(async () => {
			const j = await t.json('/api/alerts');
			const want = j.rules.find((r) => r.name === 'ui-errors').groups
				.map((g) => [g.group, stateWord(g.state), fmt(g.value), fmt(rule.threshold)].join(' | ')).sort();
			const got = (await rows.evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 4)
				.map((td) => td.textContent.trim()).join(' | ')))).sort();
			last = `view ${got.join('; ')}\napi  ${want.join('; ')}`;
			return JSON.stringify(want) === JSON.stringify(got);
		}, 12000, 'the groups to equal /api/alerts').catch((e) => {
			throw new Error(`${e.message}\n${last}`);
		});
		// the recent events: an API event (newest first) is a row, linked
		const ev = (await t.json('/api/alerts')).recent.find((e) => e.state === 'firing');
		const evRow = p.locator('section.recent tbody tr', { hasText: ev.group }).filter({ hasText: 'firing' }).first();
		t.assert.match(await evRow.textContent(), new RegExp(`ui-errors.*${fmt(ev.value)}`));
		const service = ev.group.replace(/^service=/, '');
		t.assert.equal(await evRow.locator('a').getAttribute('href'), `/ui/services?service=${encodeURIComponent(service)}`);
		// a selected rule stays selected across a refresh (r)
		await p.keyboard.press('j');
		await p.waitForSelector('section.rule.sel');
		const [resp] = await Promise.all([p.waitForResponse((r) => r.url().endsWith('/api/alerts')), p.keyboard.press('r')]);
		t.assert.equal(resp.status(), 200);
		await p.waitForTimeout(100);
		t.assert.equal(await p.locator('section.rule.sel').count(), 1);
		await p.keyboard.press('Escape');
		await p.evaluate(() => document.querySelector('main').scrollTo(0, 0));
		await t.shot(p, 'alerts');
	} },
];
