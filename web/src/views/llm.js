// views/llm.js -- LLM calls over a range: totals, tokens in/out and cost per
// bucket by model or by service, a table per model (or service), and the
// slowest and the most expensive calls, each linking to its trace.
//
// The LLM fields are those the rollups sum (libstore/rollup.c llm_keys,
// FORMAT.md 7.6): ?sum=input_tokens,output_tokens,cost stands for every
// alias (gen_ai.usage.*, llm.usage.*, llm.token_count.*, cost_usd, ...), and
// /api/stats rows carry them as "sums". A call is a record with a model
// (match=model!=: `model`, found at the top level or under attrs). So:
//   totals   /api/stats?sum=..  (no filter: what tt-query --stats --sum
//            prints, from the rollups; the calls count is the model!= rows')
//   table    /api/stats?by=model|service&match=model!=&sum=..
//   charts   the same with every=
//   calls    /api/stats?by=corr,span,service,name,model&every=1s&match=model!=
//            : one row per call (a span is one record), its max_ns its
//            duration, its sums its tokens and cost, its bucket its second.
//            Unlike /stream?n= (the last N matching records) or /api/recent
//            (unfiltered), this covers the whole range; it is asked only when
//            the range has at most CALLS_MAX calls (the table says so past it).
// URL: since, until, every, by (model|service), sel (a model or service
// whose calls the call tables show), sort.
import { useMemo } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { href, navigate, setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { CmdLine, RangePicker, Status, useLoad } from '../controls.js';
import { dur, num, pct, shq, time } from '../format.js';
import { Chart, STEPS, autoEvery, buckets, durNs, nsText, onGrid, resolveRange, rfc3339 } from './chart.js';
import { SortTable } from './services.js';
import './llm.css';

const SUM = 'input_tokens,output_tokens,cost';
const CALLS = 'model!=';
const CALLS_MAX = 20000;
const TOP = 10;       // rows of each call table
const SERIES = 8;     // groups charted one by one; the rest as "other"

function readParams(p) {
	const by = p.get('by') === 'service' ? 'service' : 'model';
	return { since: p.get('since') || '1h', until: p.get('until') || '', every: p.get('every') || '',
		by, sel: p.get('sel') || '', sort: p.get('sort') || '-cost' };
}

export function command(f) {
	const a = ['tt-query', '--stats', '--by', f.by, '--sum', SUM, '--since', f.since];
	if (f.until)
		a.push('--until', f.until);
	a.push(CALLS);
	return a.map(shq).join(' ');
}

async function load(f, signal) {
	const w = await resolveRange(f.since, f.until, api.getJSON, signal);
	const every = durNs(f.every) ? f.every : autoEvery(w.until - w.since);
	const r = { since: nsText(w.since), until: nsText(w.until) };
	const [tot, groups, series] = await Promise.all([
		api.stats({ ...r, sum: SUM }, { signal }),
		api.stats({ ...r, by: f.by, match: CALLS, sum: SUM }, { signal }),
		api.stats({ ...r, by: f.by, match: CALLS, sum: SUM, every }, { signal }),
	]);
	const ncalls = groups.rows.reduce((n, g) => n + g.count, 0);
	const calls = ncalls && ncalls <= CALLS_MAX ?
		(await api.stats({ ...r, by: 'corr,span,service,name,model', match: CALLS, sum: SUM, every: '1s' }, { signal })).rows : null;
	const t = tot.rows[0] || { sums: {} };
	const sums = t.sums || {};
	return {
		w, every, everyNs: durNs(every), ncalls, calls,
		totals: { calls: ncalls, errors: groups.rows.reduce((n, g) => n + g.errors, 0),
			input_tokens: sums.input_tokens || 0, output_tokens: sums.output_tokens || 0, cost: sums.cost || 0 },
		groups: groups.rows, series: series.rows,
	};
}

export function money(v) {
	if (v === null || v === undefined)
		return '';
	return '$' + (v === 0 ? '0' : v >= 100 ? num(v, 0) : v >= 1 ? v.toFixed(2) : v >= 0.01 ? v.toFixed(4) : v.toPrecision(3));
}

// axis ticks: short
const moneyTick = (v) => (v === 0 ? '$0' : '$' + Number(v.toPrecision(2)));
const tokens = (v) => (v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : v >= 1e4 ? (v / 1e3).toFixed(1) + 'k' : num(v));

// The three charts: a series per group (the SERIES costliest, then "other").
function chartData(d, by) {
	const x = buckets(d.w.since, d.w.until, d.everyNs);
	const order = [...d.groups].sort((a, b) => b.sums.cost - a.sums.cost || b.count - a.count).map((g) => g[by]);
	const keep = new Set(order.slice(0, SERIES));
	const names = [...order.slice(0, SERIES), ...(order.length > SERIES ? ['other'] : [])];
	const make = (field) => names.map((n, i) => {
		const m = new Map();
		for (const r of d.series) {
			const g = keep.has(r[by]) ? r[by] : 'other';
			if (g === n)
				m.set(r.ts, (m.get(r.ts) || 0) + (r.sums[field] || 0));
		}
		return { label: n === '' ? '(none)' : n, color: i, values: onGrid(x, m, 0) };
	});
	return { x, input: make('input_tokens'), output: make('output_tokens'), cost: make('cost') };
}

const errCls = (r) => (r.errors ? 'err' : '');

function groupCols(by) {
	return [
		{ key: by, label: by, get: (r) => r[by], fmt: (v) => (v === '' ? '(none)' : v) },
		{ key: 'count', label: 'calls', num: true, get: (r) => r.count, fmt: num },
		{ key: 'errors', label: 'errors', num: true, get: (r) => r.errors, fmt: num, cls: errCls },
		{ key: 'error_rate', label: 'error rate', num: true, get: (r) => r.error_rate, fmt: pct, cls: errCls },
		{ key: 'input_tokens', label: 'tokens in', num: true, get: (r) => r.sums.input_tokens, fmt: num },
		{ key: 'output_tokens', label: 'tokens out', num: true, get: (r) => r.sums.output_tokens, fmt: num },
		{ key: 'cost', label: 'cost', num: true, get: (r) => r.sums.cost, fmt: money },
		{ key: 'per_call', label: 'cost/call', num: true, get: (r) => (r.count ? r.sums.cost / r.count : null), fmt: money },
		{ key: 'p50', label: 'p50', num: true, get: (r) => r.p50_ns, fmt: dur },
		{ key: 'p95', label: 'p95', num: true, get: (r) => r.p95_ns, fmt: dur },
		{ key: 'max', label: 'max', num: true, get: (r) => r.max_ns, fmt: dur },
	];
}

function Calls({ title, rows, cls }) {
	return html`<div class="tablebox llm-box">
		<h2 class="sv-cap">${title}</h2>
		<table class="grid llm-calls ${cls}" aria-label=${title}>
			<thead><tr><th>time</th><th>service</th><th>model</th><th class="num">duration</th>
				<th class="num">in</th><th class="num">out</th><th class="num">cost</th><th>trace</th></tr></thead>
			<tbody>${rows.map((r) => html`<tr key=${r.corr + '/' + r.span} data-corr=${r.corr} data-model=${r.model}>
				<td class="muted" title=${time(r.ts, true).slice(0, 19)}>${time(r.ts).slice(0, 8)}</td>
				<td>${r.service}</td>
				<td>${r.model}</td>
				<td class="num" data-v=${r.max_ns}>${dur(r.max_ns)}</td>
				<td class="num" data-v=${r.sums.input_tokens}>${num(r.sums.input_tokens)}</td>
				<td class="num" data-v=${r.sums.output_tokens}>${num(r.sums.output_tokens)}</td>
				<td class="num" data-v=${r.sums.cost}>${money(r.sums.cost)}</td>
				<td class="mono llm-corr"><a href=${href('trace', [r.corr], { sel: r.span ? 's:' + r.span : '' })}
					title=${'trace ' + r.corr}>${r.corr.length > 10 ? r.corr.slice(0, 8) + '…' : r.corr}</a>${r.errors ? html` <span class="badge err">error</span>` : ''}</td>
			</tr>`)}</tbody>
		</table>
		${!rows.length && html`<div class="empty">No calls.</div>`}
	</div>`;
}

function Card({ k, v, text, id }) {
	return html`<div class="card" id=${id} data-v=${v}><div class="v">${text}</div><div class="k">${k}</div></div>`;
}

export function LlmView({ route }) {
	const f = readParams(route.params);
	const key = route.params.toString();
	const st = useLoad((signal) => load(f, signal), [key]);
	const d = st.data;
	const ch = useMemo(() => d && chartData(d, f.by), [d]);
	const calls = d && d.calls ? d.calls.filter((r) => !f.sel || r[f.by] === f.sel) : [];
	const slow = [...calls].sort((a, b) => b.max_ns - a.max_ns).slice(0, TOP);
	const dear = [...calls].sort((a, b) => b.sums.cost - a.sums.cost || b.max_ns - a.max_ns).slice(0, TOP);
	useKeys({
		b: ['chart by model / by service', () => setParams({ by: f.by === 'model' ? 'service' : 'model', sel: '', sort: '' })],
		Escape: ['calls of every ' + f.by, () => setParams({ sel: '' })],
	});
	const per = d ? ` per ${d.every}` : '';
	// a bucket (or a drag) of a chart: the traces with calls in that window
	const pick = (from, to) => navigate(href('traces', [], { since: rfc3339(from), until: rfc3339(to, true),
		service: f.by === 'service' ? f.sel : '', match: f.by === 'model' && f.sel ? 'model=' + f.sel : CALLS }));
	const tt = d && d.totals;
	return html`<div class="llm">
		<div class="bar">
			<h1>LLM calls</h1>
			<${RangePicker} since=${f.since} until=${f.until} allowAll=${false}
				onChange=${(r) => setParams({ ...r, every: '' }, true)} />
			<label>By
				<select aria-label="Group by" value=${f.by} onChange=${(e) => setParams({ by: e.currentTarget.value, sel: '', sort: '' }, true)}>
					<option value="model">model</option><option value="service">service</option>
				</select></label>
			<label>Bucket
				<select aria-label="Bucket size" value=${f.every} onChange=${(e) => setParams({ every: e.currentTarget.value })}>
					<option value="">auto${d && !f.every ? ` (${d.every})` : ''}</option>
					${STEPS.map((s) => html`<option value=${s}>${s}</option>`)}
				</select></label>
			${f.sel && html`<span class="sv-chip">${f.by} <b>${f.sel}</b>
				<button onClick=${() => setParams({ sel: '' })} aria-label=${'Calls of every ' + f.by} title="every one (Esc)">×</button></span>`}
		</div>
		<${CmdLine} cmd=${command(f)} />
		<${Status} loading=${st.loading && !d} error=${st.error} empty=${d && !d.ncalls && !tt.cost ? 'No LLM calls in this range.' : ''}>
			${d && html`<div class="cards llm-totals" aria-label="Totals">
				<${Card} id="tot-calls" k="calls" v=${tt.calls} text=${num(tt.calls)} />
				<${Card} id="tot-errors" k="errors" v=${tt.errors} text=${num(tt.errors)} />
				<${Card} id="tot-in" k="input tokens" v=${tt.input_tokens} text=${num(tt.input_tokens)} />
				<${Card} id="tot-out" k="output tokens" v=${tt.output_tokens} text=${num(tt.output_tokens)} />
				<${Card} id="tot-cost" k="cost" v=${tt.cost} text=${money(tt.cost)} />
				<${Card} id="tot-per" k="cost per call" v=${tt.calls ? tt.cost / tt.calls : 0} text=${money(tt.calls ? tt.cost / tt.calls : 0)} />
			</div>`}
			${ch && html`<div class="sv-charts">
				<${Chart} id="ch-in" title=${`Input tokens by ${f.by}${per}`} x=${ch.x} series=${ch.input} everyNs=${d.everyNs} height=${140} onPick=${pick} fmt=${tokens} value=${num} />
				<${Chart} id="ch-out" title=${`Output tokens by ${f.by}${per}`} x=${ch.x} series=${ch.output} everyNs=${d.everyNs} height=${140} onPick=${pick} fmt=${tokens} value=${num} />
				<${Chart} id="ch-cost" title=${`Cost by ${f.by}${per}`} x=${ch.x} series=${ch.cost} everyNs=${d.everyNs} height=${140} onPick=${pick} fmt=${moneyTick} value=${money} />
			</div>`}
			${d && html`<div class="tablebox llm-box">
				<${SortTable} label=${'Calls by ' + f.by} cls="llm-groups" cols=${groupCols(f.by)} rows=${d.groups} param="sort" sort=${f.sort}
					rowKey=${(r) => r[f.by]} sel=${f.sel} onRow=${(r) => setParams({ sel: r[f.by] === f.sel ? '' : r[f.by] })} />
			</div>
			${d.calls ? html`<div class="sv-tables">
				<${Calls} title=${'Slowest calls' + (f.sel ? ' of ' + f.sel : '')} rows=${slow} cls="llm-slow" />
				<${Calls} title=${'Most expensive calls' + (f.sel ? ' of ' + f.sel : '')} rows=${dear} cls="llm-dear" />
			</div>` : d.ncalls > 0 && html`<div class="empty">${num(d.ncalls)} calls in this range: choose a shorter one to list the slowest and the most expensive.</div>`}`}
		<//>
	</div>`;
}
