// views/live.js -- records as they land: ttd's /stream (server-sent events)
// with the filters in the URL. The stream starts with the last REPLAY
// matching records; a reconnect resumes after the last event id, so nothing
// is lost or shown twice. Incoming records are batched and rendered at most
// once per animation frame; the tab keeps the newest KEEP records (a
// virtualised list draws only the visible rows). Paused, or scrolled away
// from the end, new records wait in a buffer behind an "N new" banner.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { href, setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { CmdLine, Field } from '../controls.js';
import { VList } from '../vlist.js';
import { num, shq, text, time } from '../format.js';
import './live.css';

const REPLAY = 200;
const KEEP = 10000;
const LEVELS = ['', 'debug', 'info', 'warn', 'error', 'fatal'];

function readParams(p) {
	return {
		service: p.get('service') || '', level: p.get('level') || '', kind: p.get('kind') || '',
		grep: p.get('grep') || '', match: p.getAll('match'),
	};
}

function streamParams(f) {
	const match = [...f.match];
	if (f.kind)
		match.push('kind=' + f.kind);
	return { n: REPLAY, service: f.service, level: f.level, grep: f.grep, match };
}

export function command(f) {
	const a = ['tt-tail', '-f', '-n', String(REPLAY)];
	if (f.service)
		a.push('--service', f.service);
	if (f.level)
		a.push('--level', f.level);
	if (f.grep)
		a.push('--grep', f.grep);
	if (f.kind)
		a.push('kind=' + f.kind);
	a.push(...f.match);
	return a.map(shq).join(' ');
}

// A colour per service, stable across reloads (hue from the name).
function hue(s) {
	let h = 0;
	for (let i = 0; i < s.length; i++)
		h = (h * 31 + s.charCodeAt(i)) >>> 0;
	return h % 360;
}

function Row({ r }) {
	const lv = r.level || '';
	return html`<span class="c lv-time" title=${r.time}>${time(r.ts)}</span>
		<span class="c lv-svc"><span class="svc-dot" style=${{ background: `hsl(${hue(r.service || '')} 55% 50%)` }}></span>${r.service || ''}</span>
		<span class="c lv-level lvl-${lv}">${lv}</span>
		<span class="c lv-kind muted">${r.kind || ''}</span>
		<span class="c lv-corr">${r.corr ? html`<a href=${href('trace', [r.corr])} onClick=${(e) => e.stopPropagation()}>${r.corr}</a>` : ''}</span>
		<span class="c lv-name">${r.dir ? r.dir + ' ' : ''}${r.name || ''}</span>
		<span class="c grow lv-msg">${r.msg || ''}</span>`;
}

function Detail({ r, onClose }) {
	// ts is left out: a JSON number above 2^53 is not exact here; time is
	const keys = Object.keys(r).filter((k) => k !== 'attrs' && k !== 'ts' && !k.startsWith('_'));
	return html`<aside class="detail live-detail" aria-label="Record">
		<div class="bar"><h2>${r.service || ''} · ${r.name || r.msg || ''}</h2><span class="spacer"></span>
			<button onClick=${onClose} aria-label="Close (Esc)">×</button></div>
		<table><tbody>
			${keys.map((k) => html`<tr><td>${k}</td><td class="v mono">${text(r[k])}</td></tr>`)}
			${r.attrs && Object.entries(r.attrs).map(([k, v]) => html`<tr><td>attrs.${k}</td><td class="v mono">${text(v)}</td></tr>`)}
		</tbody></table>
		${r.corr && html`<a href=${href('trace', [r.corr])}>open the trace →</a>`}
	</aside>`;
}

export function LiveView({ route }) {
	const f = readParams(route.params);
	const key = JSON.stringify(streamParams(f));
	const [rows, setRows] = useState([]);
	const [held, setHeld] = useState(0);       // records waiting while paused
	const [paused, setPaused] = useState(false);
	const [state, setState] = useState('connecting');
	const [rate, setRate] = useState(0);
	const [dropped, setDropped] = useState(0);
	const [sel, setSel] = useState(-1);
	const [open, setOpen] = useState(null);
	const buf = useRef({ all: [], hold: [], pending: [], frame: 0, times: [], paused: false, dropped: 0 });

	// the stream: reconnects with Last-Event-ID (EventSource does it)
	useEffect(() => {
		const b = buf.current;
		b.all = [], b.hold = [], b.pending = [], b.dropped = 0;
		setRows([]), setHeld(0), setDropped(0), setSel(-1), setOpen(null);
		const flush = () => {
			b.frame = 0;
			const batch = b.pending;
			b.pending = [];
			if (b.paused) {
				b.hold.push(...batch);
				if (b.hold.length > KEEP) {
					b.dropped += b.hold.length - KEEP;
					b.hold.splice(0, b.hold.length - KEEP);
				}
				setHeld(b.hold.length);
			} else {
				b.all = b.all.concat(batch);
			}
			if (b.all.length > KEEP) {
				b.dropped += b.all.length - KEEP;
				b.all = b.all.slice(b.all.length - KEEP);
			}
			setRows(b.all);
			setDropped(b.dropped);
		};
		const es = new EventSource(api.streamURL(streamParams(f)));
		es.onopen = () => setState('live');
		es.onerror = () => setState(es.readyState === EventSource.CLOSED ? 'ended' : 'reconnecting');
		es.onmessage = (e) => {
			let r;
			try {
				r = JSON.parse(e.data);
			} catch (err) {
				return;
			}
			if (!r || r.type) // {"type":"timeout"} and other control events
				return;
			r._id = e.lastEventId;
			b.pending.push(r);
			b.times.push(performance.now());
			if (!b.frame)
				b.frame = requestAnimationFrame(flush);
		};
		const tick = setInterval(() => { // records/s over the last 5 s
			const now = performance.now();
			while (b.times.length && b.times[0] < now - 5000)
				b.times.shift();
			setRate(b.times.length / 5);
		}, 1000);
		return () => {
			es.close();
			clearInterval(tick);
			if (b.frame)
				cancelAnimationFrame(b.frame);
			b.frame = 0;
		};
	}, [key]);

	const pause = (on) => {
		const b = buf.current;
		b.paused = on;
		setPaused(on);
		if (!on && b.hold.length) {
			b.all = b.all.concat(b.hold);
			b.hold = [];
			if (b.all.length > KEEP) {
				b.dropped += b.all.length - KEEP;
				b.all = b.all.slice(b.all.length - KEEP);
			}
			setRows(b.all);
			setHeld(0);
			setDropped(b.dropped);
		}
	};
	const clear = () => {
		const b = buf.current;
		b.all = [], b.hold = [];
		setRows([]), setHeld(0), setSel(-1), setOpen(null);
	};
	useKeys({
		' ': ['pause / resume', () => pause(!buf.current.paused)],
		j: ['next record', () => setSel((s) => Math.min(rows.length - 1, s + 1))],
		k: ['previous record', () => setSel((s) => Math.max(0, (s < 0 ? rows.length : s) - 1))],
		Enter: ['show the selected record', () => sel >= 0 && setOpen(rows[sel])],
		Escape: ['close the record', () => setOpen(null)],
		'/': ['filter by text', () => document.getElementById('lv-grep').focus()],
		c: ['clear the list', clear],
	});
	return html`
		<div class="bar" role="search">
			<${Field} label="service" value=${f.service} onCommit=${(v) => setParams({ service: v })} />
			<label>level <select aria-label="level" value=${f.level} onChange=${(e) => setParams({ level: e.currentTarget.value })}>
				${LEVELS.map((l) => html`<option value=${l}>${l ? l + '+' : 'any'}</option>`)}</select></label>
			<${Field} label="kind" value=${f.kind} placeholder="span, log…" onCommit=${(v) => setParams({ kind: v })} />
			<${Field} label="FIELD=VALUE" value=${f.match.join(' ')} placeholder="attrs.region=eu-west-1" wide
				onCommit=${(v) => setParams({ match: v.split(/\s+/).filter((x) => x.includes('=')) })} />
			<${Field} id="lv-grep" label="text" value=${f.grep} placeholder="regex" onCommit=${(v) => setParams({ grep: v })} />
			<span class="spacer"></span>
			<span class="lv-state ${state}" role="status" aria-live="polite">● ${state}</span>
			<span class="muted lv-rate" title="records per second, last 5 s">${num(rate, 1)}/s</span>
			<button class=${paused ? 'primary' : ''} onClick=${() => pause(!paused)} title="Space">${paused ? 'resume' : 'pause'}</button>
			<button onClick=${clear} title="c">clear</button>
		</div>
		<${CmdLine} cmd=${command(f)} />
		${held > 0 && html`<button class="banner" onClick=${() => pause(false)}>${num(held)} new — resume</button>`}
		<div class="live-layout">
			<div class="live-main">
				${rows.length ? html`<${VList} items=${rows} rowHeight=${24} follow=${!paused} selected=${sel} label="Records"
					onScrollAway=${() => pause(true)}
					row=${(r, i) => html`<div class="lv-row" onClick=${() => {
						setSel(i);
						setOpen(r);
					}}><${Row} r=${r} /></div>`} />`
				: html`<div class="empty">${state === 'live' ? 'Waiting for records that match…' : 'Connecting…'}</div>`}
			</div>
			${open && html`<${Detail} r=${open} onClose=${() => setOpen(null)} />`}
		</div>
		<div class="muted lv-foot">${num(rows.length)} records in view${dropped ? ` · ${num(dropped)} older ones dropped (the tab keeps ${num(KEEP)})` : ''}${paused ? ' · paused' : ''}</div>`;
}
