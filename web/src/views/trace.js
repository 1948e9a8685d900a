// views/trace.js -- one correlation id: the span waterfall (nested by
// parent, critical path, errors, search, collapsible, virtualised), the
// sequence diagram of checkpoint traces, and a detail pane for the selected
// row. It loads /api/traces/ID, then follows the id's SSE stream so records
// that arrive while the page is open appear in place.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import './trace.css';
import { html } from '../html.js';
import * as api from '../api.js';
import { href, navigate, setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { CmdLine, Status } from '../controls.js';
import { VList } from '../vlist.js';
import { dur, num, shq, text, time } from '../format.js';

export const ROW = 24;

export const isErr = (r) => r.level === 'error' || r.level === 'fatal' ||
	String(r.status || '').toLowerCase() === 'error';
const isSpanRec = (r) => r.span !== undefined && r.span !== null && r.span !== '' && r.kind !== 'log' &&
	(typeof r.dur === 'number' || r.kind === 'span');
export const hasDur = (r) => typeof r.dur === 'number' && r.dur >= 0;

// A stable colour per service name (the same in every trace and view).
export function svcColor(s) {
	let h = 2166136261;
	for (let i = 0; i < s.length; i++)
		h = Math.imul(h ^ s.charCodeAt(i), 16777619);
	return `hsl(${(h >>> 0) % 360} 62% 52%)`;
}

export const label = (r) => r.name || r.msg || r.kind || '';

// records (arrival order) -> the tree the views draw. Spans nest under their
// parent span; a record that is not a span but names an existing span is that
// span's log record (a child row, and listed in its details); everything else
// is a top-level row. A span whose parent is not in the trace is a root
// marked missing; parent cycles are broken into roots.
export function buildModel(records) {
	const order = records.map((r, i) => i).sort((a, b) => records[a].ts - records[b].ts || a - b);
	const bySpan = new Map();
	let t0 = Infinity, t1 = -Infinity;
	for (const i of order) {
		const r = records[i];
		t0 = Math.min(t0, r.ts);
		t1 = Math.max(t1, r.ts + (hasDur(r) ? r.dur : 0));
		if (!isSpanRec(r))
			continue;
		const o = bySpan.get(r.span);
		if (!o || (!hasDur(records[o]) && hasDur(r)))
			bySpan.set(r.span, i);
	}
	const nodes = [], spanNode = new Map();
	for (const i of order) {
		const r = records[i];
		const span = bySpan.get(r.span) === i;
		const n = { r, key: span ? 's:' + r.span : 'r:' + i, span, kids: [], logs: [], parent: null,
			depth: 0, ord: -1, missing: false, crit: false, err: isErr(r), end: r.ts + (hasDur(r) ? r.dur : 0), hay: null };
		nodes.push(n);
		if (span)
			spanNode.set(r.span, n);
	}
	const roots = [];
	for (const n of nodes) {
		const r = n.r;
		let p = null;
		if (n.span) {
			p = r.parent ? spanNode.get(r.parent) : null;
			if (p === n)
				p = null;
			n.missing = !!r.parent && !p;
		} else {
			p = spanNode.get(r.span) || (r.parent ? spanNode.get(r.parent) : null) || null;
			if (p && r.span === p.r.span)
				p.logs.push(r);
		}
		n.parent = p;
		(p ? p.kids : roots).push(n);
	}
	// depth-first order; nodes in a cycle are never reached from a root
	const all = [];
	const walk = (root) => {
		const stack = [root];
		while (stack.length) {
			const n = stack.pop();
			if (n.ord >= 0)
				continue;
			n.depth = n === root || !n.parent ? 0 : n.parent.depth + 1;
			n.ord = all.length;
			all.push(n);
			for (let k = n.kids.length - 1; k >= 0; k--)
				stack.push(n.kids[k]);
		}
	};
	for (const n of roots)
		walk(n);
	for (const n of nodes) {
		if (n.ord < 0) {
			if (n.parent)
				n.parent.kids = n.parent.kids.filter((x) => x !== n);
			n.parent = null;
			roots.push(n);
			walk(n);
		}
	}
	// the critical path: from the root that ends last, the child span that ends last
	let c = null;
	for (const n of roots)
		if (n.span && (!c || n.end > c.end))
			c = n;
	while (c) {
		c.crit = true;
		let next = null;
		for (const k of c.kids)
			if (k.span && (!next || k.end > next.end))
				next = k;
		c = next;
	}
	const services = [];
	const seenSvc = new Set();
	for (const i of order) {
		const s = records[i].service;
		if (s !== undefined && !seenSvc.has(s))
			seenSvc.add(s), services.push(s);
	}
	return { records, nodes, all, roots, spanNode, services, t0: Number.isFinite(t0) ? t0 : 0,
		span: Math.max(1, t1 - t0), dur: Number.isFinite(t1) ? t1 - t0 : 0,
		nSpans: spanNode.size, errors: nodes.filter((n) => n.err).length,
		missing: nodes.filter((n) => n.missing).length,
		open: [...spanNode.values()].filter((n) => !hasDur(n.r)).length };
}

// The rows shown: depth-first, minus the descendants of collapsed rows.
function visibleRows(m, collapsed) {
	if (!collapsed.size)
		return m.all;
	const out = [];
	let skip = -1;
	for (const n of m.all) {
		if (skip >= 0 && n.depth > skip)
			continue;
		skip = collapsed.has(n.key) && n.kids.length ? n.depth : -1;
		out.push(n);
	}
	return out;
}

function hay(n) {
	if (n.hay === null) {
		const r = n.r;
		n.hay = [r.name, r.service, r.msg, r.kind, r.span, r.attrs ? JSON.stringify(r.attrs) : '',
			...(r.events || []).map((e) => e && e.name)].map(text).join('\n').toLowerCase();
	}
	return n.hay;
}

// A trace's records, loaded then followed. The stream is /stream filtered to
// the id, opened first (it starts at the store's end and resumes with
// Last-Event-ID after a reconnect, so it never replays what was loaded);
// records committed between its start and the load come both ways and are
// told apart as a multiset of the records' JSON.
function useTraceRecords(id) {
	const [st, setSt] = useState({ loading: true, records: [], rev: 0 });
	useEffect(() => {
		const ac = new AbortController();
		let timer = 0, rev = 0, loaded = false, started = false;
		const recs = [], pending = [];
		let seen = null, base = [];
		const add = (r) => {
			if (!seen) { // built on the first event after the load
				seen = new Map();
				for (const x of base) {
					const k = JSON.stringify(x);
					seen.set(k, (seen.get(k) || 0) + 1);
				}
				base = null;
			}
			const k = JSON.stringify(r), c = seen.get(k) || 0;
			if (c > 0)
				return seen.set(k, c - 1);
			pending.push(r);
			if (!timer)
				timer = setTimeout(flush, 100);
		};
		const flush = () => {
			timer = 0;
			if (!loaded || !pending.length)
				return;
			recs.push(...pending.splice(0));
			setSt((s) => ({ ...s, records: recs.slice(), rev: ++rev }));
		};
		const early = [];
		const es = new EventSource(api.streamURL({ match: 'corr=' + id }));
		es.onmessage = (e) => {
			let r;
			try {
				r = api.normalizeRecord(JSON.parse(e.data));
			} catch (x) {
				return;
			}
			if (r && typeof r.ts === 'number' && r.corr === id)
				loaded ? add(r) : early.push(r);
		};
		const load = () => {
			if (started)
				return;
			started = true;
			api.trace(id, {}, { signal: ac.signal }).then((t) => {
				if (t)
					recs.push(...t.records);
				base = recs.slice();
				loaded = true;
				early.splice(0).forEach(add);
				recs.push(...pending.splice(0));
				setSt({ loading: false, records: recs.slice(), rev: ++rev, truncated: t && t.truncated,
					complete: t && t.complete, live: es.readyState === EventSource.OPEN });
			}, (error) => !ac.signal.aborted && setSt({ loading: false, error, records: [], rev: 0 }));
		};
		es.onopen = () => {
			load();
			setSt((s) => (s.live ? s : { ...s, live: true }));
		};
		es.onerror = () => {
			load();
			setSt((s) => (s.live ? { ...s, live: false } : s));
		};
		const fallback = setTimeout(load, 1500);
		setSt({ loading: true, records: [], rev: 0 });
		return () => {
			ac.abort();
			es.close();
			clearTimeout(timer);
			clearTimeout(fallback);
		};
	}, [id]);
	return st;
}

// The records as ttd prints them (tt-query -o jsonl ID), exact to the
// nanosecond: the elements of /api/traces/ID's "traces" array cut out of the
// body's text (numbers above 2^53 would not survive JSON.parse).
async function jsonLines(id, fallback) {
	try {
		const r = await fetch('/api/traces/' + encodeURIComponent(id) + '?limit=100000', { headers: { Accept: 'application/json' } });
		const s = await r.text();
		let i = s.indexOf('"traces":[');
		if (!r.ok || i < 0)
			throw new Error('no records');
		i += 10;
		const out = [];
		let depth = 0, str = false, start = -1;
		for (; i < s.length; i++) {
			const c = s[i];
			if (str) {
				if (c === '\\')
					i++;
				else if (c === '"')
					str = false;
			} else if (c === '"') {
				str = true;
			} else if (c === '{' || c === '[') {
				if (!depth++)
					start = i;
			} else if (c === '}' || c === ']') {
				if (!depth)
					break;
				if (!--depth)
					out.push(s.slice(start, i + 1));
			}
		}
		return out.join('\n') + '\n';
	} catch (e) {
		return fallback.map((x) => JSON.stringify(x)).join('\n') + '\n';
	}
}

function download(name, body, type) {
	const url = URL.createObjectURL(new Blob([body], { type }));
	const a = document.createElement('a');
	a.href = url;
	a.download = name;
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 5000);
}

const fileName = (id) => id.replace(/[^A-Za-z0-9._-]+/g, '_') || 'trace';

function Header({ id, m, st, onCompare }) {
	const [msg, setMsg] = useState(null);
	const [asking, setAsking] = useState(false);
	const [other, setOther] = useState('');
	const note = (text, err) => {
		setMsg({ text, err });
		setTimeout(() => setMsg(null), err ? 6000 : 1500);
	};
	const copy = async () => {
		const body = await jsonLines(id, st.records);
		try {
			await navigator.clipboard.writeText(body);
			note('copied ' + st.records.length + ' records');
		} catch (e) {
			note('the clipboard refused: use download', true);
		}
	};
	const otlp = async () => {
		const r = await fetch('/api/traces/' + encodeURIComponent(id) + '?format=otlp');
		const body = await r.text();
		if (!r.ok) {
			let e = body;
			try {
				e = JSON.parse(body).error || body;
			} catch (x) { /* the text as it is */ }
			return note(`OTLP export: ${r.status} ${e}`, true);
		}
		download(fileName(id) + '.otlp.jsonl', body, 'application/x-ndjson');
	};
	const state = m.nSpans ? (m.missing || m.open ? `incomplete: ${m.missing} parent${m.missing === 1 ? '' : 's'} missing, ${m.open} not ended` : 'complete') :
		m.cps ? (st.complete ? 'complete' : 'open') : '';
	return html`<div class="tr-head">
		<div class="tr-title">
			<h1 class="mono" title="correlation id">${id}</h1>
			${m.services.map((s) => html`<span class="tr-svc"><i class="tr-dot" style=${{ background: svcColor(s) }}></i>${s}</span>`)}
		</div>
		<div class="tr-facts" aria-label="Trace summary">
			<span data-fact="spans"><b>${num(m.nSpans)}</b> span${m.nSpans === 1 ? '' : 's'}</span>
			<span data-fact="records"><b>${num(m.records.length)}</b> record${m.records.length === 1 ? '' : 's'}</span>
			<span data-fact="dur" title="first record to the last end"><b>${dur(m.dur)}</b></span>
			<span data-fact="errors" class=${m.errors ? 'err' : ''}><b>${num(m.errors)}</b> error${m.errors === 1 ? '' : 's'}</span>
			${state && html`<span class="badge ${state === 'complete' ? 'ok' : ''}" title="spans: every parent present and ended; checkpoints: as many <- as ->">${state}</span>`}
			${st.live && html`<span class="badge live" title="new records of this id appear as they arrive">live</span>`}
			${st.truncated && html`<span class="badge err">truncated</span>`}
			<span class="spacer"></span>
			${msg && html`<span class=${msg.err ? 'err' : 'muted'} role="status">${msg.text}</span>`}
			<button onClick=${copy} title="Copy the records as JSON lines">copy JSON</button>
			<button onClick=${async () => download(fileName(id) + '.jsonl', await jsonLines(id, st.records), 'application/x-ndjson')}
				title="The records as JSON lines (tt-query -o jsonl)">download JSON</button>
			<button onClick=${otlp} title="OTLP/JSON export (tt-query -o otlp)">download OTLP</button>
			${asking ? html`<form class="tr-ask" onSubmit=${(e) => {
				e.preventDefault();
				if (other.trim())
					onCompare(other.trim());
			}}><input aria-label="id to compare with" placeholder="other id" value=${other} autoFocus
				onInput=${(e) => setOther(e.currentTarget.value)} onKeyDown=${(e) => e.key === 'Escape' && setAsking(false)} />
				<button type="submit">compare</button></form>` :
				html`<button onClick=${() => setAsking(true)}>compare with…</button>`}
		</div>
	</div>`;
}

function Value({ v }) {
	return html`<td class="v">${v !== null && typeof v === 'object' ? JSON.stringify(v, null, 1) : text(v)}</td>`;
}

function Detail({ n, m, onClose }) {
	const r = n.r;
	const rows = Object.entries(r).filter(([k]) => k !== 'attrs' && k !== 'events');
	const attrs = r.attrs && typeof r.attrs === 'object' ? Object.entries(r.attrs) : [];
	const off = (ts) => '+' + dur(ts - m.t0);
	return html`<aside class="detail tr-detail" aria-label="Details of the selected row">
		<div class="tr-dhead"><h2>${r.service ? r.service + ' · ' : ''}${label(r)}</h2>
			<button onClick=${onClose} aria-label="Close the details" title="Close (Esc)">×</button></div>
		<div class="tr-badges">
			${n.err && html`<span class="badge err">error</span>`}
			${n.crit && html`<span class="badge crit">critical path</span>`}
			${n.missing && html`<span class="badge warn">parent missing</span>`}
			${hasDur(r) && html`<span class="badge">${dur(r.dur)}</span>`}
			<span class="badge">${off(r.ts)}</span>
		</div>
		<table aria-label="Fields"><tbody>
			${rows.map(([k, v]) => html`<tr><td>${k}</td>${k === 'ts' ? html`<td class="v">${time(v, true)} <span class="muted">(${off(v)})</span></td>` :
				k === 'dur' && typeof v === 'number' ? html`<td class="v">${dur(v)} <span class="muted">(${num(v)} ns)</span></td>` : html`<${Value} v=${v} />`}</tr>`)}
		</tbody></table>
		${attrs.length > 0 && html`<h3>Attributes</h3><table aria-label="Attributes"><tbody>
			${attrs.map(([k, v]) => html`<tr><td>${k}</td><${Value} v=${v} /></tr>`)}</tbody></table>`}
		${r.attrs !== undefined && typeof r.attrs !== 'object' && html`<h3>Attributes</h3><div class="v mono">${text(r.attrs)}</div>`}
		${Array.isArray(r.events) && r.events.length > 0 && html`<h3>Events (${r.events.length})</h3>
			<ul class="tr-list" aria-label="Span events">${r.events.map((e) => html`<li>
				<span class="muted">${e && typeof e.ts === 'number' ? '+' + dur(e.ts - r.ts) : ''}</span> <b>${text(e && e.name)}</b>
				${e && e.attrs && html`<div class="v mono">${JSON.stringify(e.attrs)}</div>`}</li>`)}</ul>`}
		${n.logs.length > 0 && html`<h3>Log records (${n.logs.length})</h3>
			<ul class="tr-list" aria-label="Log records">${n.logs.map((l) => html`<li>
				<span class="muted">+${dur(l.ts - r.ts)}</span> ${l.level && html`<span class="lvl-${l.level}">${l.level}</span>`} ${text(l.msg || l.name)}
				${l.attrs && html`<div class="v mono">${JSON.stringify(l.attrs)}</div>`}</li>`)}</ul>`}
		${n.kids.length > 0 && html`<div class="muted">${n.kids.length} child row${n.kids.length === 1 ? '' : 's'}</div>`}
	</aside>`;
}

function Axis({ m }) {
	const ticks = [0, 0.25, 0.5, 0.75, 1];
	return html`<div class="wf-head" aria-hidden="true"><div class="wf-label">service · name</div>
		<div class="wf-axis">${ticks.map((f) => html`<span style=${{ left: f * 100 + '%' }} class=${f === 1 ? 'last' : f === 0 ? 'first' : ''}>${dur(f * m.dur)}</span>`)}</div></div>`;
}

function WfRow({ n, m, collapsed, match, onSel, onToggle }) {
	const r = n.r;
	const left = ((r.ts - m.t0) / m.span) * 100;
	const width = hasDur(r) ? (r.dur / m.span) * 100 : 0;
	const c = r.service !== undefined ? svcColor(String(r.service)) : 'var(--fg2)';
	const open = n.kids.length > 0;
	return html`<div class=${`wf-row${n.err ? ' errrow' : ''}${match ? ' match' : ''}${n.crit ? ' critrow' : ''}`}
		data-key=${n.key} data-depth=${n.depth} data-kind=${n.span ? 'span' : 'point'} onClick=${() => onSel(n.key)}>
		<div class="wf-label" style=${{ paddingLeft: n.depth * 14 + 'px' }} role="gridcell">
			${open ? html`<button class="wf-tog" tabindex="-1" aria-expanded=${!collapsed} aria-label=${(collapsed ? 'expand ' : 'collapse ') + label(r)}
				onClick=${(e) => {
					e.stopPropagation();
					onToggle(n.key);
				}}>${collapsed ? '▸' : '▾'}</button>` : html`<span class="wf-tog"></span>`}
			<i class="tr-dot" style=${{ background: c }}></i>
			<span class="wf-svc">${text(r.service)}</span>
			<span class="name">${r.dir ? r.dir + ' ' : ''}${label(r)}</span>
			${n.err && html`<span class="badge err">error</span>`}
			${n.missing && html`<span class="badge warn" title=${'parent ' + text(r.parent) + ' is not in this trace'}>parent missing</span>`}
			${collapsed && html`<span class="muted">(${n.kids.length})</span>`}
		</div>
		<div class="wf-track" role="gridcell">
			${n.span || hasDur(r) ? html`<div class=${`wf-bar${n.err ? ' err' : ''}${n.crit ? ' crit' : ''}${hasDur(r) ? '' : ' open'}`}
				style=${{ left: left + '%', width: (hasDur(r) ? width : 100 - left) + '%', background: n.err ? undefined : c }}></div>` :
				html`<div class="wf-bar log" style=${{ left: left + '%' }}></div>`}
			<span class="wf-dur" data-ns=${hasDur(r) ? r.dur : ''} style=${left + width > 80 ? { right: 100 - left + 0.5 + '%' } : { left: left + width + 0.5 + '%' }}>
				${hasDur(r) ? dur(r.dur) : '+' + dur(r.ts - m.t0)}</span>
		</div>
	</div>`;
}

// ---- the sequence diagram of checkpoint records (dir -> and <-)

export const hasCheckpoints = (recs) => recs.some((r) => r.dir === '->' || r.dir === '<-');

// Arrows in time order between service lanes: a -> comes from the service
// whose request is open (innermost), a <- goes back to it; each ->/<- pair
// of the same service and name is an activation labelled with its latency.
export function sequence(m) {
	const cps = m.all.filter((n) => n.r.dir === '->' || n.r.dir === '<-').sort((a, b) => a.r.ts - b.r.ts);
	const lanes = [];
	const lane = (s) => {
		s = text(s);
		if (!lanes.includes(s))
			lanes.push(s);
		return s;
	};
	const stack = [], arrows = [], pairs = [];
	let caller = false;
	cps.forEach((n, row) => {
		const r = n.r, s = lane(r.service);
		if (r.dir === '->') {
			const from = stack.length ? stack[stack.length - 1].s : null;
			caller = caller || from === null;
			arrows.push({ n, row, from, to: s });
			stack.push({ n, row, s, name: text(r.name) });
			return;
		}
		let j = stack.length - 1;
		while (j >= 0 && !(stack[j].s === s && stack[j].name === text(r.name)))
			j--;
		const to = j > 0 ? stack[j - 1].s : j < 0 && stack.length ? stack[stack.length - 1].s : null;
		caller = caller || to === null;
		arrows.push({ n, row, from: s, to });
		if (j >= 0) {
			const o = stack.splice(j, 1)[0];
			pairs.push(arrows[arrows.length - 1].pair = { s, name: o.name, from: o.row, to: row, ns: r.ts - o.n.r.ts });
		}
	});
	return { lanes, arrows, pairs, caller, rows: cps.length };
}

const LW = 190, RH = 34, TOP = 40, GUT = 86;

export function Sequence({ m, sel, onSel }) {
	const d = useMemo(() => sequence(m), [m]);
	const cols = (d.caller ? ['caller'] : []).concat(d.lanes);
	const x = (s) => GUT + (cols.indexOf(s === null ? 'caller' : s) + 0.5) * LW;
	const y = (row) => TOP + (row + 0.75) * RH;
	const W = GUT + cols.length * LW + 20, H = TOP + (d.rows + 1) * RH;
	return html`<div class="sq-box">
		<svg class="sq" width=${W} height=${H} role="img" aria-label=${`Sequence diagram: ${d.lanes.length} services, ${d.rows} checkpoints`}>
			${cols.map((s) => html`<g class=${s === 'caller' && d.caller ? 'sq-lane sq-caller' : 'sq-lane'}>
				<rect x=${x(s) - LW / 2 + 12} y="4" width=${LW - 24} height="24" rx="4" style=${{ stroke: s === 'caller' && d.caller ? undefined : svcColor(s) }} />
				<text x=${x(s)} y="21" text-anchor="middle">${s === 'caller' && d.caller ? '(caller)' : s}</text>
				<line x1=${x(s)} x2=${x(s)} y1="28" y2=${H - 4} /></g>`)}
			${d.pairs.map((p) => html`<rect class="sq-act" x=${x(p.s) - 4} y=${y(p.from)} width="8" height=${Math.max(4, y(p.to) - y(p.from))}
				style=${{ fill: svcColor(p.s) }}><title>${`${p.s} ${p.name}: ${dur(p.ns)}`}</title></rect>`)}
			${d.arrows.map((a) => {
				const r = a.n.r, y0 = y(a.row), x0 = x(a.from), x1 = x(a.to);
				const self = x0 === x1, dir = x1 >= x0 ? 1 : -1;
				const on = a.n.key === sel;
				return html`<g class=${`sq-arrow ${r.dir === '->' ? 'req' : 'resp'}${a.n.err ? ' err' : ''}${on ? ' on' : ''}`} data-key=${a.n.key}
					onClick=${() => onSel(a.n.key)} role="button" aria-label=${`${r.dir} ${text(r.service)} ${text(r.name)}`}>
					<rect class="sq-hit" x=${Math.min(x0, x1) - 10} y=${y0 - RH / 2} width=${Math.abs(x1 - x0) + 60} height=${RH} />
					<text class="sq-off" x="6" y=${y0 + 4}>+${dur(r.ts - m.t0)}</text>
					${self ? html`<path d=${`M${x0 + 5} ${y0 - 8} h28 v12 h-22`} /><polygon points=${`${x0 + 5},${y0 + 4} ${x0 + 13},${y0} ${x0 + 13},${y0 + 8}`} />` :
						html`<line x1=${x0 + dir * 6} x2=${x1 - dir * 7} y1=${y0} y2=${y0} />
						<polygon points=${`${x1 - dir * 6},${y0} ${x1 - dir * 14},${y0 - 4} ${x1 - dir * 14},${y0 + 4}`} />`}
					<text class="sq-name" x=${self ? x0 + 38 : (x0 + x1) / 2} y=${y0 - 5} text-anchor=${self ? 'start' : 'middle'}>${r.dir + ' ' + text(r.name)}${a.pair &&
						html`<tspan class="sq-lat" data-service=${a.pair.s} data-name=${a.pair.name} data-ns=${a.pair.ns}> · ${dur(a.pair.ns)}</tspan>`}</text></g>`;
			})}
		</svg>
	</div>`;
}

export function TraceView({ route }) {
	const id = route.args[0] || '';
	const p = route.params;
	const st = useTraceRecords(id);
	const m = useMemo(() => {
		const x = buildModel(st.records);
		x.cps = hasCheckpoints(st.records);
		return x;
	}, [st.rev]);
	const [coll, setColl] = useState({ id, set: new Set() }); // collapsed rows of this id
	const collapsed = coll.id === id ? coll.set : new Set();
	const setCollapsed = (set) => setColl({ id, set });
	const [q, setQ] = useState(p.get('q') || '');
	const [qIn, setQIn] = useState(q);
	const sel = p.get('sel') || '';
	const tab = p.get('tab') || (m.cps && !m.nSpans ? 'sequence' : 'waterfall');
	const rows = useMemo(() => visibleRows(m, collapsed), [m, collapsed]);
	const matches = useMemo(() => {
		const s = q.trim().toLowerCase();
		return s ? new Set(m.all.filter((n) => hay(n).includes(s))) : null;
	}, [m, q]);
	const selNode = sel ? m.nodes.find((n) => n.key === sel) : null;

	const select = (key) => setParams({ sel: key });
	const reveal = (n) => {
		const c = new Set(collapsed);
		let changed = false;
		for (let x = n.parent; x; x = x.parent)
			changed = c.delete(x.key) || changed;
		if (changed)
			setCollapsed(c);
		select(n.key);
	};
	const shown = useRef('');
	useEffect(() => { // a selection (from the URL, a step) inside a collapsed subtree
		if (selNode && shown.current !== sel && tab === 'waterfall') {
			shown.current = sel;
			if (!rows.includes(selNode))
				reveal(selNode);
		}
	}, [selNode]);
	const toggle = (key) => {
		const c = new Set(collapsed);
		if (c.has(key)) {
			c.delete(key);
		} else {
			c.add(key);
			for (let x = selNode && selNode.parent; x; x = x.parent)
				if (x.key === key)
					select(key); // the selection would be hidden: it moves up
		}
		setCollapsed(c);
	};
	// the next (dir 1) or previous (-1) row of the whole tree that passes f
	const step = (f, dir) => {
		const list = m.all;
		if (!list.length)
			return;
		const from = selNode && selNode.ord !== undefined ? selNode.ord : dir > 0 ? -1 : list.length;
		for (let k = 1; k <= list.length; k++) {
			const n = list[(((from + dir * k) % list.length) + list.length) % list.length];
			if (f(n))
				return reveal(n);
		}
	};
	const seqRows = useMemo(() => m.all.filter((n) => n.r.dir === '->' || n.r.dir === '<-'), [m]);
	const list = tab === 'sequence' ? seqRows : rows;
	const at = selNode ? list.indexOf(selNode) : -1;
	const move = (d) => list.length && select(list[Math.max(0, Math.min(list.length - 1, at < 0 ? (d > 0 ? 0 : list.length - 1) : at + d))].key);
	const nextMatch = (d) => matches ? step((n) => matches.has(n), d) : step((n) => n.err, d);
	const commitQ = (v) => {
		setQ(v);
		setParams({ q: v });
		const s = v.trim().toLowerCase();
		if (s && tab === 'waterfall')
			step((n) => hay(n).includes(s), 1);
	};
	useKeys({
		j: ['next row', () => move(1)],
		k: ['previous row', () => move(-1)],
		Enter: ['select the row (details)', () => move(0)],
		Escape: ['clear the selection, then the search', () => sel ? select('') : q && (setQ(''), setQIn(''), setParams({ q: '' }))],
		ArrowLeft: ['collapse the row, or go to its parent', () => {
			if (!selNode)
				return;
			if (selNode.kids.length && !collapsed.has(selNode.key))
				return toggle(selNode.key);
			if (selNode.parent)
				select(selNode.parent.key);
		}],
		ArrowRight: ['expand the row, or go to its first child', () => {
			if (!selNode || !selNode.kids.length)
				return;
			if (collapsed.has(selNode.key))
				return toggle(selNode.key);
			select(selNode.kids[0].key);
		}],
		n: ['next search match (without a search: next error)', () => nextMatch(1)],
		N: ['previous search match (or error)', () => nextMatch(-1)],
		e: ['next error', () => step((n) => n.err, 1)],
		E: ['previous error', () => step((n) => n.err, -1)],
		'/': ['search in the trace', () => document.getElementById('tr-q').focus()],
		s: ['switch waterfall / sequence diagram', () => m.cps && setParams({ tab: tab === 'sequence' ? 'waterfall' : 'sequence' })],
	});

	const empty = !st.loading && !st.error && !st.records.length;
	return html`<div class="tr">
		<${Status} loading=${st.loading} error=${st.error}>
			<${Header} id=${id} m=${m} st=${st} onCompare=${(o) => navigate(href('compare', [], { a: id, b: o }))} />
			<${CmdLine} cmd=${'tt-query ' + shq(id)} />
			${empty ? html`<div class="empty">No records with id ${id} (yet: this page shows them as they arrive). <a href=${href('traces')}>Traces</a></div>` : html`
			<div class="bar tr-tools">
				${m.cps && html`<div class="tr-tabs" role="tablist" aria-label="Views of the trace">
					${[['waterfall', 'Waterfall'], ['sequence', 'Sequence diagram']].map(([k, l]) => html`<button role="tab" aria-selected=${tab === k}
						class=${tab === k ? 'on' : ''} onClick=${() => setParams({ tab: k })}>${l}</button>`)}</div>`}
				<label>search <input id="tr-q" type="search" placeholder="name, service, msg, attrs" value=${qIn} aria-label="search in the trace"
					onInput=${(e) => {
						setQIn(e.currentTarget.value);
						setQ(e.currentTarget.value);
					}}
					onKeyDown=${(e) => {
						if (e.key !== 'Enter')
							return;
						e.currentTarget.blur(); // n / N step through the matches
						e.shiftKey ? nextMatch(-1) : commitQ(e.currentTarget.value);
					}} /></label>
				${matches && html`<span class=${matches.size ? 'muted' : 'err'} role="status">${matches.size} match${matches.size === 1 ? '' : 'es'}</span>`}
				<span class="spacer"></span>
				${tab === 'waterfall' && html`<button onClick=${() => setCollapsed(new Set())} title="Expand every row">expand all</button>
					<button onClick=${() => setCollapsed(new Set(m.all.filter((n) => n.kids.length && n.depth >= 1).map((n) => n.key)))} title="Show the roots and their children only">collapse</button>`}
				<span class="muted tr-legend"><i class="tr-crit"></i> critical path · <kbd>n</kbd> next ${matches ? 'match' : 'error'} · <kbd>?</kbd> keys</span>
			</div>
			<div class="trace-layout">
				<div class="trace-main">
					${tab === 'sequence' ? html`<${Sequence} m=${m} sel=${sel} onSel=${select} />` : html`
					<${Axis} m=${m} />
					<${VList} items=${rows} rowHeight=${ROW} selected=${at} label="Spans" row=${(n) => html`<${WfRow} n=${n} m=${m}
						collapsed=${collapsed.has(n.key)} match=${matches && matches.has(n)} onSel=${select} onToggle=${toggle} />`} />`}
				</div>
				${selNode && html`<${Detail} n=${selNode} m=${m} onClose=${() => select('')} />`}
			</div>`}
		</${Status}>
	</div>`;
}
