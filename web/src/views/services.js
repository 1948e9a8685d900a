// views/services.js -- every service over a range: a sortable table of
// request rate, errors and latency (GET /api/services), charts of rate,
// error rate and p50/p95/p99 per bucket (all services: /api/stats?every=,
// one service: its series), and the selected service's operations
// (/api/stats?by=name&service=S). A click on a chart bucket, or a drag over
// several, opens the Traces view on that window. URL: since, until, every
// (absent: chosen for about 60-120 points), service, sort, osort.
import { useMemo } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { href, navigate, setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { CmdLine, RangePicker, Status, useLoad } from '../controls.js';
import { dur, num, pct, shq } from '../format.js';
import { Chart, STEPS, autoEvery, buckets, durNs, nsText, onGrid, resolveRange, rfc3339 } from './chart.js';
import './services.css';

function readParams(p) {
	return {
		since: p.get('since') || '1h', until: p.get('until') || '', every: p.get('every') || '',
		service: p.get('service') || '', sort: p.get('sort') || '-rate', osort: p.get('osort') || '-count',
	};
}

export function command(f) {
	const a = ['tt-query', '--stats', '--by', f.service ? 'name' : 'service'];
	if (f.service)
		a.push('--service', f.service);
	a.push('--since', f.since);
	if (f.until)
		a.push('--until', f.until);
	return a.map(shq).join(' ');
}

async function load(f, signal) {
	const w = await resolveRange(f.since, f.until, api.getJSON, signal);
	const every = durNs(f.every) ? f.every : autoEvery(w.until - w.since);
	const q = { since: nsText(w.since), until: nsText(w.until), every };
	const [svc, all, ops] = await Promise.all([
		api.services(q, { signal }),
		f.service ? null : api.stats(q, { signal }),
		f.service ? api.stats({ by: 'service,name', since: q.since, until: q.until }, { signal }) : null,
	]);
	// The operations are /api/stats?by=service,name kept to the service, not
	// by=name&service=S: ttd answers that with no rows on the rollup path
	// (its service values point into the parsed query string, freed before
	// the query runs: daemon/api_stats.c). Same rollups, same numbers.
	return { w, every, everyNs: durNs(every), services: svc.services, all: all && all.rows,
		ops: ops && ops.rows.filter((r) => r.service === f.service) };
}

// Sortable table: cols [{key, label, get(row), fmt(v), num}], the sort
// parameter's name and value ('-key' descending, 'key' ascending).
export function SortTable({ cols, rows, param, sort, rowKey, sel, onRow, label, cls }) {
	const desc = sort.startsWith('-'), key = sort.replace(/^-/, '');
	const col = cols.find((c) => c.key === key) || cols[0];
	const sorted = [...rows].sort((a, b) => {
		const x = col.get(a), y = col.get(b);
		const c = x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 :
			typeof x === 'string' ? x.localeCompare(y) : x - y;
		return desc ? -c : c;
	});
	const click = (c) => setParams({ [param]: (c.key === key && desc ? '' : '-') + c.key });
	return html`<table class="grid ${cls || ''}" aria-label=${label}>
		<thead><tr>${cols.map((c) => html`<th class=${c.num ? 'num' : ''} aria-sort=${c.key === key ? (desc ? 'descending' : 'ascending') : 'none'}>
			<button class="sv-sort" data-key=${c.key} onClick=${() => click(c)} title=${'sort by ' + c.label}>${c.label}${c.key === key ? (desc ? ' ▾' : ' ▴') : ''}</button></th>`)}</tr></thead>
		<tbody>${sorted.map((r) => html`<tr key=${rowKey(r)} data-key=${rowKey(r)} class=${sel && rowKey(r) === sel ? 'sel' : ''}
				onClick=${onRow && (() => onRow(r))} aria-selected=${onRow ? rowKey(r) === sel : undefined}>
			${cols.map((c) => html`<td class="${c.num ? 'num' : ''} ${c.cls ? c.cls(r) : ''}" data-col=${c.key} data-v=${c.get(r)}>${c.render ? c.render(r) : c.fmt ? c.fmt(c.get(r)) : c.get(r)}</td>`)}
		</tr>`)}</tbody>
	</table>`;
}

const errCls = (r) => (r.errors ? 'err' : '');
// the columns both tables share
const STAT_COLS = [
	{ key: 'count', label: 'count', num: true, get: (r) => r.count, fmt: num },
	{ key: 'errors', label: 'errors', num: true, get: (r) => r.errors, fmt: num, cls: errCls },
	{ key: 'error_rate', label: 'error rate', num: true, get: (r) => r.error_rate, fmt: pct, cls: errCls },
	{ key: 'p50', label: 'p50', num: true, get: (r) => r.p50_ns, fmt: dur },
	{ key: 'p95', label: 'p95', num: true, get: (r) => r.p95_ns, fmt: dur },
	{ key: 'p99', label: 'p99', num: true, get: (r) => r.p99_ns, fmt: dur },
];
const SVC_COLS = [
	{ key: 'service', label: 'service', get: (r) => r.service },
	{ key: 'rate', label: 'rate/s', num: true, get: (r) => r.rate, fmt: (v) => num(v, v < 10 ? 3 : 1) },
	...STAT_COLS,
];
const OP_COLS = [
	{ key: 'name', label: 'operation', get: (r) => r.name },
	...STAT_COLS,
	{ key: 'max', label: 'max', num: true, get: (r) => r.max_ns, fmt: dur },
];

const rateFmt = (v) => num(v, v < 1 ? 3 : v < 100 ? 1 : 0);
const durFmt = (v) => dur(v);

// The three charts' series from per-bucket points [{ts, count, errors, rate, p50_ns, ...}].
function chartData(d, f) {
	const pts = f.service ? ((d.services.find((s) => s.service === f.service) || {}).series || []) : d.all || [];
	const x = buckets(d.w.since, d.w.until, d.everyNs);
	const m = (get) => new Map(pts.map((p) => [p.ts, get(p)]));
	const who = f.service || 'all services';
	return {
		x,
		rate: [{ label: who, color: 'var(--bar)', values: onGrid(x, m((p) => p.rate), 0), fill: true }],
		errors: [{ label: who, color: 'var(--err)', values: onGrid(x, m((p) => (p.count ? p.errors / p.count : 0)), 0), fill: true }],
		lat: [
			{ label: 'p50', color: 'var(--ok)', values: onGrid(x, m((p) => p.p50_ns), null) },
			{ label: 'p95', color: 'var(--warn)', values: onGrid(x, m((p) => p.p95_ns), null) },
			{ label: 'p99', color: 'var(--err)', values: onGrid(x, m((p) => p.p99_ns), null) },
		],
	};
}

export function ServicesView({ route }) {
	const f = readParams(route.params);
	const key = route.params.toString();
	const st = useLoad((signal) => load(f, signal), [key]);
	const d = st.data;
	const ch = useMemo(() => d && chartData(d, f), [d, f.service]);
	const rows = d ? d.services : [];

	const choose = (s) => setParams({ service: s === f.service ? '' : s, osort: '' }, true);
	const toTraces = (from, to) => navigate(href('traces', [], { service: f.service, since: rfc3339(from), until: rfc3339(to, true) }));
	const move = (by) => {
		const order = [...document.querySelectorAll('table.sv-services tbody tr')].map((tr) => tr.dataset.key);
		const i = order.indexOf(f.service);
		const s = order[Math.max(0, Math.min(order.length - 1, i < 0 ? 0 : i + by))];
		if (s)
			setParams({ service: s, osort: '' });
	};
	useKeys({
		j: ['next service', () => move(1)],
		k: ['previous service', () => move(-1)],
		Escape: ['all services', () => setParams({ service: '', osort: '' })],
		t: ['traces of the range (and service)', () => d && toTraces(d.w.since, d.w.until)],
	});

	return html`<div class="sv">
		<div class="bar">
			<h1>Services</h1>
			<${RangePicker} since=${f.since} until=${f.until} allowAll=${false}
				onChange=${(r) => setParams({ ...r, every: '' }, true)} />
			<label>Bucket
				<select aria-label="Bucket size" value=${f.every} onChange=${(e) => setParams({ every: e.currentTarget.value })}>
					<option value="">auto${d && !f.every ? ` (${d.every})` : ''}</option>
					${STEPS.map((s) => html`<option value=${s}>${s}</option>`)}
				</select></label>
			${f.service && html`<span class="sv-chip">service <b>${f.service}</b>
				<button onClick=${() => setParams({ service: '', osort: '' })} aria-label="Show all services" title="all services (Esc)">×</button></span>`}
			<span class="spacer"></span>
			${d && html`<a href=${href('traces', [], { service: f.service, since: rfc3339(d.w.since), until: rfc3339(d.w.until, true) })}>traces of this range →</a>`}
		</div>
		<${CmdLine} cmd=${command(f)} />
		<${Status} loading=${st.loading && !d} error=${st.error} empty=${d && !rows.length ? 'No records in this range.' : ''}>
			${ch && html`<div class="sv-charts">
				<${Chart} id="ch-rate" title=${'Request rate (per second)'} x=${ch.x} series=${ch.rate} fmt=${rateFmt} everyNs=${d.everyNs} onPick=${toTraces} />
				<${Chart} id="ch-errors" title="Error rate" x=${ch.x} series=${ch.errors} fmt=${pct} everyNs=${d.everyNs} onPick=${toTraces} />
				<${Chart} id="ch-latency" title="Latency p50 / p95 / p99" x=${ch.x} series=${ch.lat} fmt=${durFmt} everyNs=${d.everyNs} onPick=${toTraces} />
			</div>
			<p class="muted sv-hint">Click a bucket or drag over several to see their traces${f.service ? '' : '; click a service for its own charts and operations'}.</p>`}
			<div class="sv-tables">
				<div class="tablebox sv-box">
					<${SortTable} label="Services" cls="sv-services" cols=${SVC_COLS} rows=${rows} param="sort" sort=${f.sort}
						rowKey=${(r) => r.service} sel=${f.service} onRow=${(r) => choose(r.service)} />
				</div>
				${f.service && d && d.ops && html`<div class="tablebox sv-box">
					<h2 class="sv-cap">Operations of ${f.service}</h2>
					<${SortTable} label=${'Operations of ' + f.service} cls="sv-ops" cols=${OP_COLS} rows=${d.ops} param="osort" sort=${f.osort}
						rowKey=${(r) => r.name} />
				</div>`}
			</div>
		<//>
	</div>`;
}
