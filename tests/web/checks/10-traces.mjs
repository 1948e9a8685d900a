// 10-traces.mjs -- the Traces view: recent ids, search, filters in the URL,
// the tt-query command, keyboard.
export const checks = [
	{ name: 'lists recent ids with services; the command line matches', async run(t) {
		const p = await t.page('/ui/');
		await p.waitForSelector('table.grid tbody tr');
		const n = await p.$$eval('table.grid tbody tr', (r) => r.length);
		t.assert.equal(n, 50);
		t.assert.equal(await p.textContent('#cmdline'), 'tt-query --list -n 50');
		// errors are counted for the recent ids even when the page also lists
		// old ones (the OTLP export's spans date from 2024): ui-wf has one
		await p.waitForFunction(() => [...document.querySelectorAll('table.grid tbody tr')]
			.some((tr) => tr.children[0].textContent === 'ui-wf' && tr.children[3].textContent === '1'));
		await t.shot(p, 'traces');
	} },
	{ name: 'a service filter goes into the URL and the command, and survives a reload', async run(t) {
		const p = await t.page('/ui/');
		await p.waitForSelector('table.grid tbody tr');
		await p.fill('input[aria-label=service]', 'orders');
		await p.press('input[aria-label=service]', 'Enter');
		await p.waitForURL(/service=orders/);
		await p.reload();
		await p.waitForSelector('table.grid tbody tr');
		t.assert.equal(await p.inputValue('input[aria-label=service]'), 'orders');
		t.assert.match(await p.textContent('#cmdline'), /--service orders/);
		const svcs = await p.$$eval('table.grid tbody tr', (rows) => rows.map((r) => r.children[1].textContent));
		t.assert.ok(svcs.length > 0 && svcs.every((s) => s.includes('orders')), svcs.join('|'));
	} },
	{ name: 'searching an id opens its trace; j/k/Enter open the selected one', async run(t) {
		const p = await t.page('/ui/');
		await p.waitForSelector('table.grid tbody tr');
		await p.keyboard.press('/');
		await p.keyboard.type('ui-wf');
		await p.keyboard.press('Enter');
		await p.waitForURL(/\/ui\/trace\/ui-wf/);
		await p.evaluate(() => history.back());
		await p.waitForSelector('table.grid tbody tr');
		await p.keyboard.press('Escape');
		await p.keyboard.press('j');
		const id = await p.textContent('table.grid tbody tr.sel td a');
		await p.keyboard.press('Enter');
		await p.waitForURL(new RegExp('/ui/trace/' + id));
	} },
	{ name: 'records holding markup and script are shown as text', async run(t) {
		const p = await t.page('/ui/?service=' + encodeURIComponent('<b>svc</b>'));
		await p.waitForSelector('table.grid tbody tr');
		t.assert.match(await p.textContent('table.grid tbody'), /<b>svc<\/b>/);
		t.assert.equal(await p.$('table.grid tbody b'), null);
		t.assert.equal(await p.evaluate(() => window.__xss), undefined);
	} },
];
