// main.js -- the shell: navigation, the key help, and the view the URL names.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { html } from './html.js';
import { href, interceptLinks, navigate, useRoute } from './router.js';
import { installKeys, keyHelp } from './keys.js';
import * as api from './api.js';
import { TracesView } from './views/traces.js';
import { TraceView } from './views/trace.js';
import { LiveView } from './views/live.js';
import { ServicesView } from './views/services.js';
import { LlmView } from './views/llm.js';
import { AlertsView } from './views/alerts.js';
import { StoreView } from './views/store.js';
import { CompareView } from './views/compare.js';

const VIEWS = [
	['traces', 'Traces', TracesView],
	['live', 'Live', LiveView],
	['services', 'Services', ServicesView],
	['llm', 'LLM', LlmView],
	['alerts', 'Alerts', AlertsView],
	['store', 'Store', StoreView],
];

function Help({ onClose }) {
	return html`<div class="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" onClick=${onClose}>
		<div class="dialog" onClick=${(e) => e.stopPropagation()}>
			<h2>Keyboard</h2>
			<table class="keys"><tbody>
				${keyHelp().map(([k, d]) => html`<tr><td><kbd>${k}</kbd></td><td>${d}</td></tr>`)}
			</tbody></table>
			<button onClick=${onClose}>Close</button>
		</div>
	</div>`;
}

function Health() {
	const [h, setH] = useState(null);
	useEffect(() => {
		let stop = false;
		const load = () => api.health().then((x) => !stop && setH(x), () => !stop && setH({ status: 'unreachable' }));
		load();
		const t = setInterval(load, 15000);
		return () => {
			stop = true;
			clearInterval(t);
		};
	}, []);
	if (!h)
		return null;
	return html`<span class="health ${h.status === 'ok' ? 'ok' : 'bad'}" title=${h.store || ''}>
		ttd ${h.version || ''} · ${h.status}${h.records !== undefined ? ` · ${Number(h.records).toLocaleString('en-US')} records` : ''}
	</span>`;
}

function App() {
	const route = useRoute();
	const [help, setHelp] = useState(false);
	useEffect(() => installKeys({
		onHelp: () => setHelp((x) => !x),
		onGo: (v) => navigate(href(v)),
	}), []);
	useEffect(() => {
		if (!help)
			return;
		const esc = (e) => e.key === 'Escape' && setHelp(false);
		addEventListener('keydown', esc);
		return () => removeEventListener('keydown', esc);
	}, [help]);
	const sub = { trace: TraceView, compare: CompareView }[route.view];
	const cur = sub ? 'traces' : route.view;
	const View = sub || (VIEWS.find((v) => v[0] === route.view) || [])[2];
	useEffect(() => {
		const name = (VIEWS.find((v) => v[0] === cur) || [, 'TeraTrace'])[1];
		document.title = (route.view === 'trace' ? 'Trace ' + (route.args[0] || '') :
			route.view === 'compare' ? 'Compare' : name) + ' · TeraTrace';
	}, [route]);
	return html`
		<header class="top">
			<a class="brand" href=${href('traces')}>TeraTrace</a>
			<nav aria-label="Views">
				${VIEWS.map(([id, name]) => html`<a href=${href(id)} class=${cur === id ? 'active' : ''} aria-current=${cur === id ? 'page' : undefined}>${name}</a>`)}
			</nav>
			<${Health} />
			<button class="helpbtn" onClick=${() => setHelp(true)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">?</button>
		</header>
		<main id="view">
			${View ? html`<${View} route=${route} />` : html`<div class="empty">No such view: ${route.view}. <a href=${href('traces')}>Traces</a></div>`}
		</main>
		${help && html`<${Help} onClose=${() => setHelp(false)} />`}`;
}

interceptLinks(document.body);
render(html`<${App} />`, document.getElementById('app'));
