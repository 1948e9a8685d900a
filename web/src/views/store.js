// views/store.js -- the store: totals (what tt-stat prints), the segments,
// the retention ttd runs with and what gc would delete now (a dry run, or a
// preview under another max age / size). It never deletes anything.
import { useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { CmdLine, Field, Status, useLoad } from '../controls.js';
import { ago, bytes, dur, num, shq, time } from '../format.js';
import './store.css';

const COLS = [
	['id', 'segment', (s) => s.id],
	['state', 'state', segState],
	['records', 'records', (s) => s.records],
	['bytes', 'on disk', (s) => s.bytes],
	['raw', 'raw', (s) => s.raw_bytes],
	['ratio', 'ratio', (s) => (s.bytes ? s.raw_bytes / s.bytes : 0)],
	['min', 'oldest record', (s) => s.min_ts],
	['max', 'newest record', (s) => s.max_ts],
];

const off = (x) => (x ? '' : 'off');

// A segment as tt-stat -s and tt-gc name it (its file name): 16 hex digits.
const segName = (id) => id.toString(16).padStart(16, '0');

// tt-stat's words for a segment's state.
const STATES = {
	sealed: ['sealed', 'complete, read-only; gc may delete it'],
	active: ['active', 'open, a writer appends to it; gc never deletes it'],
	idle: ['idle', 'open, no writer holds it (tt-gc --rotate seals it)'],
};
const segState = (s) => (s.state === 'sealed' ? 'sealed' : s.held ? 'active' : 'idle');

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
	const a = ['tt-gc', '-D', b.store, '--dry-run'];
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
	return html`<div class="tablebox segs"><table class="grid" aria-label="Segments">
		<thead><tr>${COLS.map(([id, label]) => html`<th class=${id === 'id' || id === 'state' || id === 'min' || id === 'max' ? '' : 'num'}
			aria-sort=${col[0] === id ? (dir > 0 ? 'ascending' : 'descending') : undefined}>
			<a href="#" role="button" onClick=${(e) => {
				e.preventDefault();
				onSort(col[0] === id && dir > 0 ? '-' + id : id);
			}}>${label}${col[0] === id ? (dir > 0 ? ' ▴' : ' ▾') : ''}</a></th>`)}<th>gc</th></tr></thead>
		<tbody>${rows.map((s) => html`<tr key=${s.id}>
			<td class="mono">${segName(s.id)}</td>
			<td><span class="badge ${s.state === 'sealed' ? '' : 'ok'}" title=${STATES[segState(s)][1]}>${segState(s)}</span></td>
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
	// A preview ttd refuses (400 naming the parameter) must not take the page
	// and its inputs away: the last numbers stay, the error goes to the preview.
	const last = useRef(null);
	if (st.data)
		last.current = st.data;
	const b = st.data || last.current;
	const bad = b && st.error;
	const gc = bad ? null : b && b.gc;
	const gone = new Set(gc ? gc.segments.map((s) => s.id) : []);
	const plural = (n, w) => `${num(n)} ${w}${n === 1 ? '' : 's'}`;
	return html`
		<div class="bar"><h1>Store</h1>${b && html`<span class="mono muted">${b.store}</span>
			${b.format_version && html`<span class="muted" title="format/FORMAT.md">format version ${b.format_version}</span>`}`}
			<span class="spacer"></span><button onClick=${() => setTick((x) => x + 1)} title="Reload (r)">reload</button></div>
		<${Status} loading=${st.loading && !b} error=${!b && st.error}>
		${b && html`
			<div class="cards">
				<${Card} k="records" v=${num(b.records)} />
				<${Card} k=${`segments, ${num(b.sealed)} sealed`} v=${num(b.segments)} />
				<${Card} k="on disk (data)" v=${bytes(b.data_bytes)} />
				<${Card} k="index" v=${bytes(b.index_bytes)} title=${`file ${bytes(b.index_file_bytes)}; rollups ${bytes(b.rollup_bytes)}`} />
				<${Card} k="compression" v=${b.ratio.toFixed(2) + '×'} title=${`${bytes(b.raw_bytes)} of records in ${bytes(b.data_bytes)}`} />
				<${Card} k="bytes per record" v=${b.bytes_per_record.toFixed(1)} title="data and index" />
				<${Card} k="rollup rows" v=${num(b.rollup_rows)} title=${`per (minute, group) rows, ${bytes(b.rollup_bytes)}: what the charts and alerts read`} />
				<${Card} k="time span" v=${b.records ? dur(b.max_ts - b.min_ts) : '–'} title=${b.records ? `${time(b.min_ts, true)} … ${time(b.max_ts, true)}` : ''} />
			</div>
			<p class="note muted">${bytes(b.raw_bytes)} of records compressed to ${bytes(b.data_bytes)}${b.records
				? html`, from ${time(b.min_ts, true)} to ${time(b.max_ts, true)}` : ''}. The same numbers, with the distinct ids (a walk of the whole index):</p>
			<${CmdLine} id="cmdline-stat" cmd=${['tt-stat', '-D', b.store, '-s'].map(shq).join(' ')} />
			<h2>Retention</h2>
			<table class="grid kv" aria-label="Retention settings"><tbody>
				<tr><td>delete sealed segments older than (--retention)</td><td>${b.retention.max_age_ns ? setting(b.retention.max_age_ns) : off(0)}</td></tr>
				<tr><td>keep the store under (--max-size)</td><td>${b.retention.max_size ? bytes(b.retention.max_size) : off(0)}</td></tr>
				<tr><td>gc runs every (--gc-interval)</td><td>${setting(b.retention.gc_interval_ns)}</td></tr>
				<tr><td>delete rollups older than (--rollup-retention)</td><td>${b.retention.rollup_max_age_ns ? setting(b.retention.rollup_max_age_ns) : off(0)}</td></tr>
			</tbody></table>
			<h2>What gc would delete now</h2>
			<div class="bar" role="search" aria-label="Preview other retention settings">
				<${Field} label="preview max age" value=${preview.max_age} placeholder="7d" onCommit=${(v) => setParams({ max_age: v })} />
				<${Field} label="preview max size" value=${preview.max_size} placeholder="10G" onCommit=${(v) => setParams({ max_size: v })} />
				${(preview.max_age || preview.max_size) && html`<button onClick=${() => setParams({ max_age: '', max_size: '' })}>ttd's settings</button>`}
			</div>
			${bad ? html`<div class="error-box" role="alert">${String(st.error.message || st.error)}</div>`
			: html`<p class="note gc-said ${gc.count ? 'warn' : 'muted'}" aria-live="polite">${gc.max_age_ns || gc.max_size
				? gc.count ? `${plural(gc.count, 'sealed segment')}, ${plural(gc.records, 'record')}, ${bytes(gc.bytes)} ${gc.preview ? 'would be deleted under these settings' : 'are due at the next gc'}.`
					: `Nothing ${gc.preview ? 'would be deleted under these settings' : 'is due'}: ${[
						gc.max_age_ns && `no sealed segment's newest record is older than ${setting(gc.max_age_ns)}`,
						gc.max_size && `the data fits in ${bytes(gc.max_size)}`].filter(Boolean).join(' and ')}.`
				: 'No retention is set: ttd keeps everything (--retention, --max-size). Try a max age above.'}</p>`}
			${gc && (gc.max_age_ns || gc.max_size) ? html`<${CmdLine} cmd=${gcCommand(b, preview)} />` : ''}
			<h2>Segments</h2>
			<${SegTable} segs=${b.segment_list} gone=${gone} sort=${sort} onSort=${(v) => setParams({ sort: v })} />
		`}
		</${Status}>`;
}
