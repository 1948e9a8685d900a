// views/traces.js -- recent correlation ids and the search over them.
// Without record filters the list is /api/correlations (newest first, with
// services, duration and completeness); with level, text, duration or
// FIELD=VALUE filters it is /api/stats?by=corr (the ids that have matching
// records, newest minute first). Every search shows its tt-query command.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { href, navigate, setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { CmdLine, Field, RangePicker, Status, useLoad } from '../controls.js';
import { ago, dur, num, shq, time } from '../format.js';

const LEVELS = ['', 'debug', 'info', 'warn', 'error', 'fatal'];
const PAGE = 50;

function readParams(p) {
	return {
		id: p.get('id') || '', service: p.get('service') || '', level: p.get('level') || '',
		grep: p.get('grep') || '', min_dur: p.get('min_dur') || '', match: p.getAll('match'),
		since: p.get('since') || '', until: p.get('until') || '', col: p.get('col') || '',
		limit: Math.max(1, Math.min(10000, parseInt(p.get('limit'), 10) || PAGE)),
	};
}

const filtered = (f) => !!(f.level || f.grep || f.min_dur || f.match.length);

export function command(f) {
	const a = ['tt-query', '--list', '-n', String(f.limit)];
	if (f.service)
		a.push('--service', f.service);
	if (f.since)
		a.push('--since', f.since);
	if (f.until)
		a.push('--until', f.until);
	if (f.level)
		a.push('--level', f.level);
	if (f.grep)
		a.push('--grep', f.grep);
	if (f.min_dur)
		a.push('--min-dur', f.min_dur);
	a.push(...f.match);
	return a.map(shq).join(' ');
}

// /api/stats rows (one per id and minute) -> one row per id, newest first.
function idsFromStats(rows, limit, col) {
	const by = new Map();
	for (const r of rows) {
		const x = by.get(r.corr) || { corr: r.corr, count: 0, errors: 0, last_ts: 0, first_ts: r.ts, max_ns: null, services: [] };
		x.count += r.count;
		x.errors += r.errors;
		if (r[col] !== undefined && r[col] !== '' && r[col] !== null)
			(x.vals || (x.vals = new Set())).add(String(r[col]));
		x.last_ts = Math.max(x.last_ts, r.ts);
		x.first_ts = Math.min(x.first_ts, r.ts);
		if (r.max_ns !== null && (x.max_ns === null || r.max_ns > x.max_ns))
			x.max_ns = r.max_ns;
		by.set(r.corr, x);
	}
	return [...by.values()].sort((a, b) => b.last_ts - a.last_ts || b.count - a.count).slice(0, limit);
}

// Errors (and the chosen column's values) of the listed ids: one /api/stats
// over the time the listed ids span, grouped by id. The index keeps no error
// counts, so this reads the records of that window: the ids that began more
// than EXTRA_SPAN before the newest one are left without them (cells say so).
const EXTRA_SPAN = 3600e9;

// ns since the epoch as digits (ttd reads an epoch number's unit from its size)
const nsText = (ns) => BigInt(Math.round(ns / 1e3)) * 1000n + '';

async function extras(rows, f, signal) {
	if (!rows.length)
		return null;
	// the ids of the newest hour of the page; older ones are left uncounted
	const hi = Math.max(...rows.map((r) => r.last_ts));
	const covered = rows.filter((r) => r.first_ts >= hi - EXTRA_SPAN);
	if (!covered.length)
		return null;
	const lo = Math.min(...covered.map((r) => r.first_ts));
	const body = await api.stats({ by: f.col ? 'corr,' + f.col : 'corr', every: Math.ceil((hi - lo + 2e9) / 1e6) + 'ms',
		since: nsText(lo - 1e9), until: nsText(hi + 1e9), service: f.service }, { signal });
	const m = new Map(covered.map((r) => [r.corr, { errors: 0, vals: new Set(), max_ns: 0 }]));
	for (const r of body.rows) {
		const x = m.get(r.corr);
		if (!x)
			continue; // another id with records in the window
		x.errors += r.errors;
		x.max_ns = Math.max(x.max_ns, r.max_ns || 0);
		if (f.col && r[f.col] !== '' && r[f.col] !== undefined && r[f.col] !== null)
			x.vals.add(String(r[f.col]));
	}
	return m;
}

async function load(f, signal) {
	if (!filtered(f)) {
		const rows = await api.correlations({ limit: f.limit, source: f.service, since: f.since, until: f.until }, { signal });
		let ex = null;
		try {
			ex = await extras(rows, f, signal);
		} catch (e) {
			if (signal.aborted)
				throw e;
		}
		return { mode: 'list', rows, ex };
	}
	const body = await api.stats({ by: f.col ? 'corr,' + f.col : 'corr', every: '1m', service: f.service, level: f.level, grep: f.grep,
		min_dur: f.min_dur, match: f.match, since: f.since, until: f.until }, { signal });
	return { mode: 'stats', rows: idsFromStats(body.rows.filter((r) => r.corr), f.limit, f.col) };
}

function Row({ r, mode, ex, col, sel, onSel }) {
	const x = mode === 'stats' ? { errors: r.errors, vals: r.vals } : ex && ex.get(r.corr);
	const errs = x ? x.errors : null;
	return html`<tr class=${sel ? 'sel' : ''} onClick=${onSel} aria-selected=${sel}>
		<td class="mono"><a href=${href('trace', [r.corr])}>${r.corr}</a></td>
		<td>${(r.services || []).map((s) => html`<span class="badge">${s}</span> `)}${r.services_omitted ? html`<span class="muted">+${r.services_omitted}</span>` : ''}</td>
		<td class="num">${num(r.count)}</td>
		<td class="num ${errs ? 'err' : ''}" title=${x ? '' : 'not counted: more than an hour older than the newest id listed'}>${x ? num(errs) : '–'}</td>
		<td class="num" title=${mode === 'stats' ? 'the longest matching span' : 'first record to last, or the longest span when longer'}>${mode === 'stats' ? dur(r.max_ns) : dur(Math.max(r.dur || 0, (x && x.max_ns) || 0))}</td>
		${col && html`<td class="mono">${x && x.vals ? [...x.vals].slice(0, 3).join(', ') : ''}</td>`}
		<td title=${time(r.last_ts, true)}>${time(r.first_ts)} <span class="muted">${ago(r.last_ts)}</span></td>
		${mode === 'list' && html`<td>${!r.n_req && !r.n_resp ? html`<span class="muted" title="no checkpoints: the trace view judges spans">–</span>` :
			r.complete ? html`<span class="badge ok" title="as many <- as -> checkpoints">complete</span>` : html`<span class="badge" title=${`${r.n_req} ->, ${r.n_resp} <-`}>open</span>`}</td>`}
	</tr>`;
}

export function TracesView({ route }) {
	const f = readParams(route.params);
	const key = route.params.toString();
	const st = useLoad((signal) => load(f, signal), [key]);
	const [sel, setSel] = useState(0);
	const [note, setNote] = useState('');
	let rows = st.data ? st.data.rows : [];
	if (f.id)
		rows = rows.filter((r) => r.corr.startsWith(f.id));

	const searchId = async (id) => {
		setNote('');
		if (id) {
			const t = await api.trace(id, { limit: 1 }).catch(() => null);
			if (t)
				return navigate(href('trace', [id]));
			setNote(`no id '${id}': showing the listed ids that start with it`);
		}
		setParams({ id });
	};
	useKeys({
		j: ['next id', () => setSel((s) => Math.min(rows.length - 1, s + 1))],
		k: ['previous id', () => setSel((s) => Math.max(0, s - 1))],
		Enter: ['open the selected trace', () => rows[sel] && navigate(href('trace', [rows[sel].corr]))],
		'/': ['search by id', () => document.getElementById('q-id').focus()],
	});
	const mode = st.data ? st.data.mode : 'list';
	return html`
		<div class="bar" role="search">
			<${Field} id="q-id" label="id" value=${f.id} placeholder="id or prefix" wide onCommit=${searchId} />
			<${Field} label="service" value=${f.service} onCommit=${(v) => setParams({ service: v })} />
			<label>level <select aria-label="level" value=${f.level} onChange=${(e) => setParams({ level: e.currentTarget.value })}>
				${LEVELS.map((l) => html`<option value=${l}>${l ? l + '+' : 'any'}</option>`)}</select></label>
			<${RangePicker} since=${f.since} until=${f.until} onChange=${(r) => setParams(r)} />
			<${Field} label="dur ≥" value=${f.min_dur} placeholder="250ms" onCommit=${(v) => setParams({ min_dur: v })} />
			<${Field} label="text" value=${f.grep} placeholder="regex" onCommit=${(v) => setParams({ grep: v })} />
			<${Field} label="FIELD=VALUE" value=${f.match.join(' ')} placeholder="attrs.http.status=500" wide
				onCommit=${(v) => setParams({ match: v.split(/\s+/).filter((x) => x.includes('=')) })} />
			<${Field} label="column" value=${f.col} placeholder="attrs.region" onCommit=${(v) => setParams({ col: v })} />
		</div>
		<${CmdLine} cmd=${command(f)} />
		${note && html`<div class="muted">${note}</div>`}
		<${Status} loading=${st.loading && !st.data} error=${st.error} empty=${st.data && !rows.length && 'No correlation ids match. Ingest records (tt-ingest, POST /ingest, OTLP) or widen the range.'}>
			<div class="tablebox"><table class="grid" aria-label="Correlation ids">
				<thead><tr><th>id</th><th>services</th><th class="num">${mode === 'stats' ? 'matching' : 'records'}</th>
					<th class="num">errors</th>
					<th class="num">${mode === 'stats' ? 'longest span' : 'duration'}</th>${f.col && html`<th>${f.col}</th>`}<th>started</th>${mode === 'list' && html`<th>state</th>`}</tr></thead>
				<tbody>${rows.map((r, i) => html`<${Row} key=${r.corr} r=${r} mode=${mode} ex=${st.data.ex} col=${f.col} sel=${i === sel} onSel=${() => setSel(i)} />`)}</tbody>
			</table></div>
			<div class="bar"><span class="muted">${rows.length} ids${mode === 'stats' ? ' with matching records' : ''}</span>
				${st.data && st.data.rows.length >= f.limit && html`<button onClick=${() => setParams({ limit: f.limit + PAGE }, true)}>more</button>`}</div>
		</${Status}>`;
}
