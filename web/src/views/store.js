// views/store.js -- the store: totals (what tt-stat prints), the segments,
// the retention ttd runs with and what gc would delete now (a dry run, or a
// preview under another max age / size). It never deletes anything.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { CmdLine, Field, Status, useLoad } from '../controls.js';
import { ago, bytes, dur, num, shq, time } from '../format.js';
import './store.css';

const COLS = [
	['id', 'segment', (s) => s.id],
	['state', 'state', (s) => s.state],
	['records', 'records', (s) => s.records],
	['bytes', 'on disk', (s) => s.bytes],
	['raw', 'raw', (s) => s.raw_bytes],
	['ratio', 'ratio', (s) => (s.bytes ? s.raw_bytes / s.bytes : 0)],
	['min', 'oldest record', (s) => s.min_ts],
	['max', 'newest record', (s) => s.max_ts],
];

const off = (x) => (x ? '' : 'off');

// A setting as it was probably written: 7d, 30d, 1m, 90s (else dur()).
function setting(ns) {
	for (const [u, n] of [['w', 604800e9], ['d', 86400e9], ['h', 3600e9], ['m', 60e9], ['s', 1e9]])
		if (ns >= n && ns % n === 0)
			return ns / n + u;
	return dur(ns);
}

function Card({ k, v, title }) {
	return html`<div class="card" title=${title}><div class="v">${v}</div><div class="k">${k}</div></div>`;
}

function gcCommand(b, preview) {
	const a = ['tt-gc', '--dry-run'];
	const age = preview.max_age || (b.retention.max_age_ns ? setting(b.retention.max_age_ns) : '');
	const size = preview.max_size || (b.retention.max_size ? String(b.retention.max_size) : '');
	if (age)
		a.push('--max-age', age);
	if (size)
		a.push('--max-size', size);
	return a.map(shq).join(' ');
}

function SegTable({ segs, gone, sort, onSort }) {
	const col = COLS.find((c) => c[0] === sort.replace(/^-/, '')) || COLS[0];
	const dir = sort.startsWith('-') ? -1 : 1;
	const rows = [...segs].sort((a, b) => {
		const x = col[2](a), y = col[2](b);
		return (x < y ? -1 : x > y ? 1 : 0) * dir;
	});
	return html`<div class="tablebox"><table class="grid" aria-label="Segments">
		<thead><tr>${COLS.map(([id, label]) => html`<th class=${id === 'state' || id === 'min' || id === 'max' ? '' : 'num'}
			aria-sort=${col[0] === id ? (dir > 0 ? 'ascending' : 'descending') : undefined}>
			<a href="#" role="button" onClick=${(e) => {
				e.preventDefault();
				onSort(col[0] === id && dir > 0 ? '-' + id : id);
			}}>${label}${col[0] === id ? (dir > 0 ? ' ▴' : ' ▾') : ''}</a></th>`)}<th>gc</th></tr></thead>
		<tbody>${rows.map((s) => html`<tr key=${s.id}>
			<td class="num mono">${String(s.id).padStart(16, '0')}</td>
			<td>${s.state === 'sealed' ? html`<span class="badge">sealed</span>` : html`<span class="badge ok">${s.held ? 'active, written' : 'active'}</span>`}</td>
			<td class="num">${num(s.records)}</td>
			<td class="num">${bytes(s.bytes)}</td>
			<td class="num">${bytes(s.raw_bytes)}</td>
			<td class="num">${s.bytes ? (s.raw_bytes / s.bytes).toFixed(2) + '×' : ''}</td>
			<td title=${time(s.min_ts, true)}>${s.records ? time(s.min_ts, true) : ''}</td>
			<td title=${time(s.max_ts, true)}>${s.records ? html`${time(s.max_ts, true)} <span class="muted">${ago(s.max_ts)}</span>` : ''}</td>
			<td>${gone.has(s.id) ? html`<span class="badge err">would be deleted</span>` : ''}</td>
		</tr>`)}</tbody>
	</table></div>`;
}

export function StoreView({ route }) {
	const p = route.params;
	const preview = { max_age: p.get('max_age') || '', max_size: p.get('max_size') || '' };
	const sort = p.get('sort') || 'id';
	const [tick, setTick] = useState(0);
	const st = useLoad((signal) => api.store(preview, { signal }), [preview.max_age, preview.max_size, tick]);
	useKeys({ r: ['reload the numbers', () => setTick((x) => x + 1)] });
	const b = st.data;
	const gone = new Set(b ? b.gc.segments.map((s) => s.id) : []);
	return html`
		<div class="bar"><h1>Store</h1>${b && html`<span class="mono muted">${b.store}</span>`}
			<span class="spacer"></span><button onClick=${() => setTick((x) => x + 1)} title="Reload (r)">reload</button></div>
		<${Status} loading=${st.loading && !b} error=${st.error}>
		${b && html`
			<div class="cards">
				<${Card} k="records" v=${num(b.records)} />
				<${Card} k="segments" v=${`${num(b.segments)}`} title=${`${b.sealed} sealed`} />
				<${Card} k="on disk (data)" v=${bytes(b.data_bytes)} />
				<${Card} k="index" v=${bytes(b.index_bytes)} title=${`file ${bytes(b.index_file_bytes)}; rollups ${bytes(b.rollup_bytes)}`} />
				<${Card} k="compression" v=${b.ratio.toFixed(2) + '×'} title=${`${bytes(b.raw_bytes)} of records in ${bytes(b.data_bytes)}`} />
				<${Card} k="bytes per record" v=${b.bytes_per_record.toFixed(1)} title="data and index" />
				<${Card} k="rollup rows" v=${num(b.rollup_rows)} />
				<${Card} k="time span" v=${b.records ? dur(b.max_ts - b.min_ts) : '–'} title=${b.records ? `${time(b.min_ts, true)} … ${time(b.max_ts, true)}` : ''} />
			</div>
			<p class="muted">The same numbers: <code>tt-stat</code> (<code>-o json</code> for these fields).</p>
			<h2>Retention</h2>
			<table class="grid kv" aria-label="Retention settings"><tbody>
				<tr><td>delete segments older than (--retention)</td><td>${b.retention.max_age_ns ? setting(b.retention.max_age_ns) : off(0)}</td></tr>
				<tr><td>keep the store under (--max-size)</td><td>${b.retention.max_size ? bytes(b.retention.max_size) : off(0)}</td></tr>
				<tr><td>gc runs every (--gc-interval)</td><td>${setting(b.retention.gc_interval_ns)}</td></tr>
				<tr><td>delete rollups older than (--rollup-retention)</td><td>${b.retention.rollup_max_age_ns ? setting(b.retention.rollup_max_age_ns) : off(0)}</td></tr>
			</tbody></table>
			<h2>What gc would delete now</h2>
			<div class="bar" role="search">
				<${Field} label="preview max age" value=${preview.max_age} placeholder="7d" onCommit=${(v) => setParams({ max_age: v })} />
				<${Field} label="preview max size" value=${preview.max_size} placeholder="10G" onCommit=${(v) => setParams({ max_size: v })} />
				${(preview.max_age || preview.max_size) && html`<button onClick=${() => setParams({ max_age: '', max_size: '' })}>ttd's settings</button>`}
			</div>
			<p class=${b.gc.count ? 'warn' : 'muted'} aria-live="polite">${b.gc.max_age_ns || b.gc.max_size
				? b.gc.count ? `${b.gc.count} sealed segment${b.gc.count > 1 ? 's' : ''}, ${num(b.gc.records)} records, ${bytes(b.gc.bytes)} ${b.gc.preview ? 'would be deleted under these settings' : 'are due at the next gc'}.`
					: `Nothing ${b.gc.preview ? 'would be deleted under these settings' : 'is due'}.`
				: 'No retention is set: ttd keeps everything (--retention, --max-size).'}</p>
			<${CmdLine} cmd=${gcCommand(b, preview)} />
			<h2>Segments</h2>
			<${SegTable} segs=${b.segment_list} gone=${gone} sort=${sort} onSort=${(v) => setParams({ sort: v })} />
		`}
		</${Status}>`;
}
