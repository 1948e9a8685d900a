// views/alerts.js -- the alert rules ttd evaluates (--alerts, man 5
// ttd-alerts): what fires now, each rule's groups with their state and last
// value against the threshold, and the recent firing/resolved events.
// Refreshed every few seconds and when the tab comes back into view.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { href } from '../router.js';
import { useKeys } from '../keys.js';
import { Status } from '../controls.js';
import { ago, dur, num, time } from '../format.js';
import './alerts.css';

const REFRESH_MS = 5000;

// a time of day, with its date when over a day old
const when = (ns) => time(ns, Date.now() - ns / 1e6 > 86400e3);

const plural = (n, w) => `${num(n)} ${w}${n === 1 ? '' : 's'}`;

// A window or interval as it was probably written: 1h, 5m, 90s (else dur()).
function span(ns) {
	for (const [u, n] of [['w', 604800e9], ['d', 86400e9], ['h', 3600e9], ['m', 60e9], ['s', 1e9]])
		if (ns >= n && ns % n === 0)
			return ns / n + u;
	return dur(ns);
}

// A rule's value as its kind measures it.
function value(rule, v) {
	if (v === null || v === undefined)
		return '';
	if (rule.kind === 'latency')
		return dur(v);
	if (rule.kind === 'error_rate')
		return num(v, 2) + '%';
	return num(v, 2);
}

function describe(r) {
	const parts = [r.kind === 'latency' ? `p${Math.round(r.quantile * 100)} latency` : r.kind.replace('_', ' ')];
	if (r.service)
		parts.push(`of ${r.service}`);
	if (r.match.length)
		parts.push(`where ${r.match.join(', ')}`);
	if (r.by.length)
		parts.push(`by ${r.by.join(', ')}`);
	parts.push(`over ${span(r.window_ns)}`);
	if (r.kind !== 'silence')
		parts.push(`above ${value(r, r.threshold)}`);
	if (r.for_ns)
		parts.push(`for ${span(r.for_ns)}`);
	return parts.join(' ');
}

// "service=payments,name=x" -> a link to what the group is about: the
// Services view for a service, the Traces view filtered on it otherwise.
function groupLink(group, rule) {
	if (!group)
		return null;
	const kv = Object.fromEntries(group.split(',').map((p) => {
		const i = p.indexOf('=');
		return [p.slice(0, i), p.slice(i + 1)];
	}));
	if (kv.service && Object.keys(kv).length === 1)
		return href('services', [], { service: kv.service });
	const match = Object.entries(kv).filter(([k]) => k !== 'service').map(([k, v]) => `${k}=${v}`);
	return href('traces', [], { service: kv.service, match, since: rule ? span(Math.max(rule.window_ns, 900e9)) : '1h' });
}

function Group({ g, r }) {
	const link = groupLink(g.group, r);
	// break lines between the labels only (service=a,<wbr>name=b)
	const parts = g.group.split(',');
	return g.group ? html`<a href=${link}>${parts.map((x, i) => (i ? html`,<wbr />${x}` : x))}</a>`
		: html`<span class="muted">(all)</span>`;
}

function StateBadge({ state }) {
	const cls = state === 'firing' ? 'firing' : state === 'pending' ? 'pending' : state === 'resolved' ? 'ok' : '';
	return html`<span class="badge ${cls}">${state === 'inactive' ? 'ok' : state}</span>`;
}

function Rule({ r, sel, onSel }) {
	const firing = r.groups.filter((g) => g.state === 'firing').length;
	const pending = r.groups.filter((g) => g.state === 'pending').length;
	const groups = [...r.groups].sort((a, b) => (b.state === 'firing') - (a.state === 'firing') ||
		(b.state === 'pending') - (a.state === 'pending') || (b.value || 0) - (a.value || 0));
	return html`<section class="rule ${sel ? 'sel' : ''}" aria-label=${'rule ' + r.name} onClick=${onSel}>
		<header><h2>${r.name}</h2>
			${firing ? html`<span class="badge firing">${firing} firing</span>` : ''}
			${pending ? html`<span class="badge pending">${pending} pending</span>` : ''}
			${!firing && !pending ? html`<span class="badge ok">ok</span>` : ''}
			<span class="muted">${describe(r)}</span>
			<span class="spacer"></span>
			<span class="muted" title="where notifications go, and their severity">${r.receiver} · ${r.severity}</span>
		</header>
		${groups.length ? html`<table class="grid" aria-label=${'groups of ' + r.name}>
			<thead><tr><th>group</th><th>state</th><th class="num">value</th><th class="num">threshold</th><th>since</th></tr></thead>
			<tbody>${groups.map((g) => html`<tr key=${g.group}>
				<td class="grp"><${Group} g=${g} r=${r} /></td><td><${StateBadge} state=${g.state} /></td>
				<td class="num ${g.state === 'firing' ? 'err' : g.state === 'pending' ? 'warn' : ''}">${value(r, g.value)}</td>
				<td class="num muted">${r.kind === 'silence' ? 'silent' : value(r, r.threshold)}</td>
				<td>${g.since_ns ? html`${when(g.since_ns)} <span class="muted">${ago(g.since_ns)}</span>` : ''}</td>
			</tr>`)}</tbody></table>`
		: html`<div class="muted">no group evaluated yet${r.last_eval_ns ? '' : ' (waiting for the first evaluation)'}</div>`}
	</section>`;
}

export function AlertsView() {
	const [st, setSt] = useState({ loading: true });
	const [sel, setSel] = useState(-1);
	const reload = useRef(() => {});
	useEffect(() => {
		let stop = false, ac = null;
		const load = () => {
			if (document.hidden)
				return;
			if (ac)
				ac.abort(); // one request at a time: a slow answer never lands over a newer one
			const a = ac = new AbortController();
			api.alerts({ signal: a.signal }).then((data) => !stop && !a.signal.aborted && setSt({ data }),
				(error) => !stop && !a.signal.aborted && setSt((s) => ({ ...s, error })));
		};
		load();
		reload.current = load;
		const t = setInterval(load, REFRESH_MS);
		document.addEventListener('visibilitychange', load);
		return () => {
			stop = true;
			clearInterval(t);
			document.removeEventListener('visibilitychange', load);
			if (ac)
				ac.abort();
		};
	}, []);
	const d = st.data;
	const rules = d ? d.rules : [];
	useKeys({
		j: ['next rule', () => setSel((s) => Math.min(rules.length - 1, s + 1))],
		k: ['previous rule', () => setSel((s) => Math.max(0, s - 1))],
		r: ['refresh now (every 5 s otherwise)', () => reload.current()],
		Escape: ['clear the selection', () => setSel(-1)],
	});
	useEffect(() => {
		const el = document.querySelectorAll('section.rule')[sel];
		if (el)
			el.scrollIntoView({ block: 'nearest' });
	}, [sel]);
	const firing = rules.flatMap((r) => r.groups.filter((g) => g.state === 'firing').map((g) => ({ r, g })));
	return html`
		<div class="bar"><h1>Alerts</h1>${d && d.enabled && html`<span class="muted">${plural(rules.length, 'rule')}, evaluated every ${span(d.interval_ns)}${
			rules[0] && rules[0].last_eval_ns ? `, last at ${time(rules[0].last_eval_ns)}` : ''}</span>`}</div>
		<${Status} loading=${st.loading && !d} error=${!d && st.error}
			empty=${d && !d.enabled && html`<span>ttd runs without alert rules. Start it with <code>--alerts FILE</code>: the rules (errors, error rate, latency, silence, count; per service or any field) are described in <code>man 5 ttd-alerts</code>, with an example in <code>contrib/alerts.example</code>.</span>`}>
		${d && html`
			${st.error && html`<div class="error-box" role="alert">refresh failed: ${String(st.error.message || st.error)}</div>`}
			<section class="firing-now ${firing.length ? 'on' : ''}" aria-label="Firing now">
				<h2>Firing now ${firing.length ? html`<span class="badge firing">${plural(firing.length, 'group')}</span>` : ''}</h2>
				${firing.length ? rules.filter((r) => r.groups.some((g) => g.state === 'firing')).map((r) => {
					const gs = r.groups.filter((g) => g.state === 'firing').sort((a, b) => b.value - a.value);
					const since = Math.min(...gs.map((g) => g.since_ns));
					return html`<div class="fn-rule" key=${r.name}>
						<div><b>${r.name}</b> <span class="muted">${describe(r)}; since ${when(since)} (${ago(since)})</span></div>
						<ul class="fn-groups" aria-label=${'firing groups of ' + r.name}>${gs.map((g) => html`<li key=${g.group}
							title=${`since ${when(g.since_ns)} (${ago(g.since_ns)}), threshold ${value(r, r.threshold)}`}>
							<${Group} g=${g} r=${r} /> <b class="err">${value(r, g.value)}</b></li>`)}</ul>
					</div>`;
				}) : html`<div class="ok">Nothing is firing.</div>`}
			</section>
			<div class="alerts-cols">
				<div class="rules">${rules.map((r, i) => html`<${Rule} key=${r.name} r=${r} sel=${i === sel} onSel=${() => setSel(i)} />`)}</div>
				<section class="recent" aria-label="Recent alerts">
					<h2>Recent</h2>
					${d.recent.length ? html`<table class="grid"><thead><tr><th>time</th><th>rule</th><th>group</th><th>state</th><th class="num">value</th></tr></thead>
						<tbody>${d.recent.map((e, i) => {
							const r = rules.find((x) => x.name === e.rule) || { kind: 'count' };
							return html`<tr key=${i}><td title=${e.time}>${when(e.ts)}</td><td>${e.rule}</td><td class="grp"><${Group} g=${e} r=${rules.find((x) => x.name === e.rule)} /></td>
								<td><${StateBadge} state=${e.state} /></td><td class="num">${value(r, e.value)}</td></tr>`;
						})}</tbody></table>`
					: html`<div class="muted">No alert has fired since ttd started. They are records too: <code>tt-tail -f kind=alert</code>.</div>`}
				</section>
			</div>`}
		</${Status}>`;
}
