// views/compare.js -- two traces side by side (/ui/compare?a=ID&b=ID), their
// structure aligned: a row is matched by its path of (service, name) from the
// root, with its occurrence among siblings of the same path. Rows on one side
// only, durations that differ by more than 10 % and attributes that differ
// are marked.
import { useMemo } from 'preact/hooks';
import './compare.css';
import { html } from '../html.js';
import * as api from '../api.js';
import { href, setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { Field, Status, useLoad } from '../controls.js';
import { dur, num, text } from '../format.js';
import { buildModel, hasDur, label, svcColor } from './trace.js';

const SLOWER = 0.1;

// each node's path key (n.ck), each level's siblings numbered by occurrence
function keyed(list, prefix) {
	const occ = new Map();
	for (const n of list) {
		const r = n.r;
		const base = JSON.stringify([text(r.service), n.span ? 'span' : text(r.kind), text(r.dir), label(r)]);
		const k = occ.get(base) || 0;
		occ.set(base, k + 1);
		n.ck = prefix + '/' + base + '#' + k;
		keyed(n.kids, n.ck);
	}
}

function attrDiff(x, y) {
	const a = (x && typeof x === 'object') ? x : {}, b = (y && typeof y === 'object') ? y : {};
	return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

// The aligned rows: depth first, siblings in order of their start offset.
export function align(A, B) {
	keyed(A.roots, '');
	keyed(B.roots, '');
	const rows = [];
	const walk = (la, lb, depth) => {
		const byKey = new Map(lb.map((n) => [n.ck, n]));
		const items = [];
		for (const x of la) {
			const y = byKey.get(x.ck) || null;
			byKey.delete(x.ck);
			items.push([x, y]);
		}
		for (const y of byKey.values())
			items.push([null, y]);
		const off = ([x, y]) => (x ? x.r.ts - A.t0 : y.r.ts - B.t0);
		items.sort((p, q) => off(p) - off(q));
		for (const [a, b] of items) {
			const row = { a, b, depth, key: (a || b).ck, diff: [] };
			if (!a || !b) {
				row.diff.push(a ? 'only-a' : 'only-b');
			} else {
				if (hasDur(a.r) && hasDur(b.r)) {
					row.delta = b.r.dur - a.r.dur;
					row.ratio = a.r.dur > 0 ? b.r.dur / a.r.dur : null;
					if (Math.abs(row.delta) > SLOWER * Math.max(a.r.dur, 1))
						row.diff.push('dur');
				} else if (hasDur(a.r) !== hasDur(b.r)) {
					row.diff.push('dur');
				}
				row.attrs = attrDiff(a.r.attrs, b.r.attrs);
				for (const f of ['status', 'level', 'msg'])
					if (text(a.r[f]) !== text(b.r[f]))
						row.attrs.push(f);
				if (row.attrs.length)
					row.diff.push('attrs');
			}
			rows.push(row);
			walk(a ? a.kids : [], b ? b.kids : [], depth + 1);
		}
	};
	walk(A.roots, B.roots, 0);
	return rows;
}

function Bar({ n, m, scale }) {
	if (!n)
		return html`<td class="cmp-side cmp-none">—</td>`;
	const r = n.r;
	const left = ((r.ts - m.t0) / scale) * 100;
	return html`<td class="cmp-side">
		<div class="cmp-track">${hasDur(r) ? html`<div class=${'cmp-bar' + (n.err ? ' err' : '')}
			style=${{ left: left + '%', width: Math.max(0.3, (r.dur / scale) * 100) + '%', background: n.err ? undefined : svcColor(text(r.service)) }}></div>` :
			html`<div class="cmp-bar pt" style=${{ left: left + '%' }}></div>`}</div>
		<span class="cmp-dur">${hasDur(r) ? dur(r.dur) : '+' + dur(r.ts - m.t0)}</span></td>`;
}

function Row({ row, A, B, scale, sel, onSel }) {
	const n = row.a || row.b, r = n.r;
	const cls = ['cmp-row', sel ? 'sel' : '', row.diff.length ? 'diff' : '', ...row.diff.map((d) => 'd-' + d)].join(' ');
	const big = row.diff.includes('dur');
	return html`<tr class=${cls} data-key=${row.key} data-depth=${row.depth} onClick=${onSel} aria-selected=${sel}>
		<td class="cmp-name" style=${{ paddingLeft: 8 + row.depth * 14 + 'px' }}>
			<i class="tr-dot" style=${{ background: svcColor(text(r.service)) }}></i>
			<span class="muted">${text(r.service)}</span> ${r.dir ? r.dir + ' ' : ''}<span class="name">${label(r)}</span>
			${!row.a && html` <span class="badge d-only">only in B</span>`}${!row.b && html` <span class="badge d-only">only in A</span>`}
			${row.diff.includes('attrs') && html` <span class="badge d-attrs" title=${row.attrs.join(', ')}>≠ ${row.attrs.join(', ')}</span>`}
		</td>
		<${Bar} n=${row.a} m=${A} scale=${scale} />
		<${Bar} n=${row.b} m=${B} scale=${scale} />
		<td class=${'num cmp-delta' + (big ? (row.delta > 0 ? ' slower' : ' faster') : '')}>${row.delta !== undefined && (row.delta || big) ?
			html`${row.delta > 0 ? '+' : row.delta < 0 ? '−' : ''}${dur(Math.abs(row.delta))}${row.ratio !== null && html` <span class="ratio">×${row.ratio.toFixed(2)}</span>`}` : ''}</td>
	</tr>`;
}

function Detail({ row, onClose }) {
	const keys = [...new Set([...Object.keys(row.a ? row.a.r : {}), ...Object.keys(row.b ? row.b.r : {})])].filter((k) => k !== 'attrs');
	const ak = [...new Set([...Object.keys((row.a && row.a.r.attrs) || {}), ...Object.keys((row.b && row.b.r.attrs) || {})])];
	const v = (n, k, attr) => (n ? text(attr ? (n.r.attrs || {})[k] : n.r[k]) : '');
	const line = (k, attr) => {
		const x = v(row.a, k, attr), y = v(row.b, k, attr);
		const same = x === y || ['ts', 'time', 'corr'].includes(k);
		return html`<tr class=${same ? '' : 'diff'}><td>${attr ? 'attrs.' + k : k}</td><td class="v">${x}</td><td class="v">${y}</td></tr>`;
	};
	return html`<aside class="detail cmp-detail" aria-label="The selected row on both sides">
		<div class="tr-dhead"><h2>${text((row.a || row.b).r.service)} · ${label((row.a || row.b).r)}</h2>
			<button onClick=${onClose} aria-label="Close the details">×</button></div>
		<table><thead><tr><th></th><th>A</th><th>B</th></tr></thead><tbody>
			${keys.map((k) => line(k, false))}${ak.map((k) => line(k, true))}</tbody></table>
	</aside>`;
}

async function load(a, b, signal) {
	const [ta, tb] = await Promise.all([a ? api.trace(a, {}, { signal }) : null, b ? api.trace(b, {}, { signal }) : null]);
	return { ta, tb };
}

export function CompareView({ route }) {
	const p = route.params;
	const a = p.get('a') || '', b = p.get('b') || '', only = p.get('only') === '1', sel = p.get('sel') || '';
	const st = useLoad((signal) => load(a, b, signal), [a, b]);
	const d = useMemo(() => {
		if (!st.data || !st.data.ta || !st.data.tb)
			return null;
		const A = buildModel(st.data.ta.records), B = buildModel(st.data.tb.records);
		const rows = align(A, B);
		const count = (k) => rows.filter((r) => r.diff.includes(k)).length;
		return { A, B, rows, scale: Math.max(A.span, B.span), onlyA: count('only-a'), onlyB: count('only-b'),
			durs: count('dur'), attrs: count('attrs'), same: rows.filter((r) => !r.diff.length).length };
	}, [st.data]);
	const shown = d ? (only ? d.rows.filter((r) => r.diff.length) : d.rows) : [];
	const at = shown.findIndex((r) => r.key === sel);
	const move = (k) => shown.length && setParams({ sel: shown[Math.max(0, Math.min(shown.length - 1, at < 0 ? 0 : at + k))].key });
	const nextDiff = (k) => {
		for (let i = 1; i <= shown.length; i++) {
			const r = shown[(((at + k * i) % shown.length) + shown.length) % shown.length];
			if (r.diff.length)
				return setParams({ sel: r.key });
		}
	};
	useKeys({
		j: ['next row', () => move(1)],
		k: ['previous row', () => move(-1)],
		n: ['next difference', () => nextDiff(1)],
		N: ['previous difference', () => nextDiff(-1)],
		Escape: ['clear the selection', () => setParams({ sel: '' })],
	});
	const missing = st.data && [!st.data.ta && a, !st.data.tb && b].filter(Boolean);
	const selRow = at >= 0 ? shown[at] : null;
	const diffs = d ? d.onlyA + d.onlyB + d.durs + d.attrs : 0;
	return html`<div class="cmp">
		<div class="bar" role="search">
			<h1>Compare</h1>
			<${Field} label="A" value=${a} placeholder="trace id" wide onCommit=${(v) => setParams({ a: v, sel: '' }, true)} />
			<button onClick=${() => setParams({ a: b, b: a, sel: '' }, true)} title="Swap A and B" aria-label="Swap A and B">⇄</button>
			<${Field} label="B" value=${b} placeholder="trace id" wide onCommit=${(v) => setParams({ b: v, sel: '' }, true)} />
			<label><input type="checkbox" checked=${only} onChange=${(e) => setParams({ only: e.currentTarget.checked ? '1' : '' })} /> differences only</label>
		</div>
		${(!a || !b) ? html`<div class="empty">Name two trace ids to compare (A and B), or open a trace and use “compare with…”.</div>` : html`
		<${Status} loading=${st.loading} error=${st.error} empty=${missing && missing.length && `No records with id ${missing.join(', ')}.`}>
			${d && html`<div class="bar cmp-sum" role="status">
				<a href=${href('trace', [a])} class="mono">A: ${a}</a> <span class="muted">${num(d.A.records.length)} records, ${dur(d.A.dur)}</span>
				<a href=${href('trace', [b])} class="mono">B: ${b}</a> <span class="muted">${num(d.B.records.length)} records, ${dur(d.B.dur)}</span>
				<span class="spacer"></span>
				${diffs ? html`${d.onlyA > 0 && html`<span class="badge d-only">${d.onlyA} only in A</span>`}
					${d.onlyB > 0 && html`<span class="badge d-only">${d.onlyB} only in B</span>`}
					${d.durs > 0 && html`<span class="badge d-dur">${d.durs} ${d.durs === 1 ? 'duration differs' : 'durations differ'} by over 10%</span>`}
					${d.attrs > 0 && html`<span class="badge d-attrs">${d.attrs} with other attributes</span>`}` :
					html`<span class="badge ok">no differences</span>`}
				<span class="muted">${d.same} of ${d.rows.length} rows alike</span>
			</div>
			<div class="trace-layout">
				<div class="tablebox"><table class="grid cmp-grid" aria-label="Aligned rows of A and B">
					<thead><tr><th>service · name</th><th>A</th><th>B</th><th class="num">B − A</th></tr></thead>
					<tbody>${shown.map((r) => html`<${Row} key=${r.key} row=${r} A=${d.A} B=${d.B} scale=${d.scale} sel=${r === selRow}
						onSel=${() => setParams({ sel: r.key })} />`)}</tbody>
				</table></div>
				${selRow && html`<${Detail} row=${selRow} onClose=${() => setParams({ sel: '' })} />`}
			</div>`}
		</${Status}>`}
	</div>`;
}
