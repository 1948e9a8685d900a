// run.mjs -- the browser suite: Debian's chromium driven by playwright-core
// against a running ttd (tests/t/t7400-ui.sh starts it with its data).
//
//   node tests/web/run.mjs BASE-URL DATA.json [SHOT-DIR]
//
// Every module in tests/web/checks/ exports `checks`, a list of
// { name, run(t) }. Each check runs in a fresh browser context; it fails
// when run throws or when its pages log a console error or throw. Output
// is TAP ("ok N - name"), counted by tests/run.sh. With SHOT-DIR, t.shot()
// writes NAME-light.png and NAME-dark.png there (1280x800).
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const top = join(here, '../..');
const { chromium } = await import(join(top, 'web/node_modules/playwright-core/index.mjs'));
const [base, dataFile, shotDir] = process.argv.slice(2);
const data = JSON.parse(readFileSync(dataFile, 'utf8'));
const only = process.env.TT_UI_ONLY || '';
const CHROMIUM = process.env.TT_CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
let n = 0, failed = 0;

function makeT(context, errors) {
	const t = {
		base, data, assert, top,
		url: (path) => base + path,
		// a page in this check's context; its console errors fail the check
		async page(path) {
			const p = await context.newPage();
			p.on('console', (m) => {
				if (m.type() === 'error')
					errors.push('console: ' + m.text());
			});
			p.on('pageerror', (e) => errors.push('page error: ' + e.message));
			if (path !== undefined)
				await p.goto(base + path, { waitUntil: 'domcontentloaded' });
			return p;
		},
		// screenshots of the page as it is, light then dark
		async shot(p, name) {
			if (!shotDir)
				return;
			mkdirSync(shotDir, { recursive: true });
			for (const scheme of ['light', 'dark']) {
				await p.emulateMedia({ colorScheme: scheme });
				await p.waitForTimeout(150);
				await p.screenshot({ path: join(shotDir, `${name}-${scheme}.png`) });
			}
			await p.emulateMedia({ colorScheme: 'light' });
		},
		// a command with the build's tools first in PATH; its stdout
		sh(cmd, input) {
			return execFileSync('sh', ['-c', cmd], { input, encoding: 'utf8',
				env: { ...process.env, PATH: `${process.env.TT_BUILD}/bin:${process.env.PATH}` } });
		},
		async json(path) {
			const r = await fetch(base + path, { headers: { Accept: 'application/json' } });
			assert.ok(r.ok, `${path}: HTTP ${r.status}`);
			return r.json();
		},
		// poll f until it returns a truthy value (or throw after ms)
		async until(f, ms = 5000, what = 'condition') {
			const end = Date.now() + ms;
			for (;;) {
				const v = await f();
				if (v)
					return v;
				if (Date.now() > end)
					throw new Error(`timed out after ${ms} ms waiting for ${what}`);
				await new Promise((r) => setTimeout(r, 50));
			}
		},
	};
	return t;
}

for (const f of readdirSync(join(here, 'checks')).filter((x) => x.endsWith('.mjs')).sort()) {
	const mod = await import(join(here, 'checks', f));
	for (const c of mod.checks) {
		const name = `${f.replace(/\.mjs$/, '')}: ${c.name}`;
		if (only && !name.includes(only))
			continue;
		n++;
		const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
		const errors = [];
		let err = null;
		const t0 = Date.now();
		try {
			await c.run(makeT(context, errors));
			if (errors.length)
				err = new Error(errors.join('\n'));
		} catch (e) {
			err = e;
		}
		await context.close();
		if (err) {
			failed++;
			console.log(`not ok ${n} - ${name}`);
			console.log(String(err.stack || err).split('\n').slice(0, 20).map((l) => '#   ' + l).join('\n'));
			for (const e of errors)
				console.log('#   ' + e);
		} else {
			console.log(`ok ${n} - ${name} (${Date.now() - t0} ms)`);
		}
	}
}
await browser.close();
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
