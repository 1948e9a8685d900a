// build.mjs -- bundle web/src into web/dist (committed; `make` embeds it).
//   node build.mjs            one build
//   node build.mjs --watch    rebuild on change (serve with ttd --ui-dir web/dist)
//   node build.mjs --out DIR  build elsewhere (the tests compare it with dist)
// Output: dist/index.html (never cached), dist/assets/app-HASH.{js,css}
// (cached for ever), dist/LICENSES.txt (the licences of what is bundled).
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';

const args = process.argv.slice(2);
const watch = args.includes('--watch');
const oi = args.indexOf('--out');
const out = oi >= 0 ? args[oi + 1] : 'dist';
const here = new URL('.', import.meta.url).pathname;

function page(meta) {
	const outs = Object.keys(meta.outputs);
	const js = outs.find((f) => f.endsWith('.js'));
	const css = outs.find((f) => f.endsWith('.css'));
	const tpl = readFileSync(join(here, 'src/index.html'), 'utf8');
	writeFileSync(join(out, 'index.html'), tpl.replace('%JS%', 'assets/' + basename(js)).replace('%CSS%', 'assets/' + basename(css)));
	const lic = ['preact', 'htm', 'uplot'].map((p) => {
		const pkg = JSON.parse(readFileSync(join(here, 'node_modules', p, 'package.json'), 'utf8'));
		return `${p} ${pkg.version} (${pkg.license})\n\n` + readFileSync(join(here, 'node_modules', p, 'LICENSE'), 'utf8');
	});
	writeFileSync(join(out, 'LICENSES.txt'), lic.join('\n' + '-'.repeat(72) + '\n\n'));
}

process.chdir(here);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const opts = {
	entryPoints: ['src/main.js'],
	bundle: true,
	minify: true,
	format: 'esm',
	target: 'es2020',
	outdir: join(out, 'assets'),
	entryNames: '[name]-[hash]',
	assetNames: '[name]-[hash]',
	legalComments: 'none',
	metafile: true,
	logLevel: 'warning',
	plugins: [{ name: 'page', setup(b) { b.onEnd((r) => { if (r.metafile) page(r.metafile); }); } }],
};
if (watch) {
	const ctx = await esbuild.context(opts);
	await ctx.watch();
	console.log('watching src/ -> ' + out);
} else {
	await esbuild.build(opts);
}
