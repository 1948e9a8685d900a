// views/live.js -- records as they land: ttd's /stream (server-sent events)
// with the filters in the URL. The stream starts with the last REPLAY
// matching records; a reconnect resumes after the last event id, so nothing
// is lost or shown twice. Incoming records are batched and rendered at most
// once per animation frame; the tab keeps the newest KEEP records (a
// virtualised list draws only the visible rows). Paused (space), or scrolled
// up away from the end, new records wait in a buffer behind an "N new"
// banner; scrolling back to the end (or resume) shows them and follows again.
import { Component } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { href, setParams } from '../router.js';
import { useKeys } from '../keys.js';
import { CmdLine, Field } from '../controls.js';
import { num, shq, text, time } from '../format.js';
import './live.css';

const REPLAY = 200;
const KEEP = 10000;
const ROW = 24;
// Renders: at most one per animation frame, and at most every FRAME_MS (20
// a second: nobody reads faster); where a render costs more (a slow machine,
// a busy one), less often, so that drawing takes at most a quarter of the
// page's time and the page stays responsive.
const FRAME_MS = 50;
const FRAME_MAX_MS = 250;
const RATE_S = 3; // the rate shown: records/s over the last RATE_S seconds
const LEVELS = ['', 'debug', 'info', 'warn', 'error', 'fatal'];

const words = (s) => (s || '').split(/[\s,]+/).filter(Boolean);

function readParams(p) {
	return {
		service: p.getAll('service').flatMap(words), level: p.get('level') || '',
		kind: p.get('kind') || '', grep: p.get('grep') || '', match: p.getAll('match'),
	};
}

function streamParams(f) {
	const match = [...f.match];
	if (f.kind)
		match.push('kind=' + f.kind);
	return { n: REPLAY, service: f.service, level: f.level, grep: f.grep, match };
}

// The same records from a shell (tt-tail(1)).
export function command(f) {
	const a = ['tt-tail', '-f', '-n', String(REPLAY)];
	for (const s of f.service)
		a.push('--service', s);
	if (f.level)
		a.push('--level', f.level);
	if (f.grep)
		a.push('--grep', f.grep);
	if (f.kind)
		a.push('kind=' + f.kind);
	a.push(...f.match);
	return a.map(shq).join(' ');
}

// A colour per service, stable across reloads: one of live.css's 12 (a
// class, not an inline colour: new rows' styles stay cheap in a flood).
function colour(s) {
	let h = 0;
	for (let i = 0; i < s.length; i++)
		h = (h * 31 + s.charCodeAt(i)) >>> 0;
	return 'lv-badge lv-c' + (h % 12);
}

// The list holds events as ttd sent them ({raw}); a record is parsed when
// it is drawn or opened, so a flood costs a string per record, not a parse.
function rec(it) {
	if (!it.r) {
		try {
			it.r = api.normalizeRecord(JSON.parse(it.raw)) || {};
		} catch (e) {
			it.r = { msg: it.raw };
		}
	}
	return it.r;
}

// ts in ns exactly as ttd sent it (a JSON number above 2^53 is rounded).
function exactTs(it) {
	const m = /"ts":(-?\d+)/.exec(it.raw);
	return m ? m[1] : text(rec(it).ts);
}

// One record's row: drawn once per record (the DOM of a record never changes).
class Row extends Component {
	shouldComponentUpdate(next) {
		return next.it !== this.props.it;
	}

	render({ it, onOpen }) {
		return rowOf(it, onOpen);
	}
}

function rowOf(it, onOpen) {
	const r = rec(it);
	// any JSON value is shown as text (an object as its JSON)
	const lv = text(r.level);
	const svc = text(r.service);
	const corr = text(r.corr);
	return html`<div class="lv-row" onClick=${(e) => !e.target.closest('a') && onOpen(it)}>
		<span class="c lv-time" role="gridcell" title=${text(r.time)}>${time(r.ts)}</span>
		<span class="c lv-svc" role="gridcell">${svc && html`<span class=${colour(svc)} title=${svc}>${svc}</span>`}</span>
		<span class="c lv-level lvl-${lv}" role="gridcell">${lv}</span>
		<span class="c lv-kind" role="gridcell">${text(r.kind)}</span>
		<span class="c lv-corr" role="gridcell">${corr && html`<a href=${href('trace', [corr])} title=${corr}>${corr}</a>`}</span>
		<span class="c lv-name" role="gridcell">${r.dir ? text(r.dir) + ' ' : ''}${text(r.name)}</span>
		<span class="c grow lv-msg" role="gridcell">${text(r.msg)}</span>
	</div>`;
}

// A virtualised list for a feed (vlist.js's idea, tuned for a flood): rows
// keyed by record, not by index, so a row that stays in view keeps its DOM
// when old records are dropped; while following, the rows at the end are
// drawn in one pass and the list is scrolled there (no second render after
// the scroll event). Scrolling away from the end calls onAway, back to the
// end onEnd; a new `end` value scrolls to the end.
function Feed({ items, follow, selected, end, onAway, onEnd, row }) {
	const box = useRef(null);
	const [top, setTop] = useState(0);
	const [height, setHeight] = useState(600);
	const atEnd = useRef(true);
	const endSeen = useRef(end);
	if (endSeen.current !== end) {
		endSeen.current = end;
		atEnd.current = true;
	}
	useLayoutEffect(() => {
		const el = box.current;
		setHeight(el.clientHeight);
		const ro = new ResizeObserver(() => setHeight(el.clientHeight));
		ro.observe(el);
		return () => ro.disconnect();
	}, []);
	const total = items.length * ROW;
	const following = follow && atEnd.current;
	const viewTop = following ? Math.max(0, total - height) : Math.min(top, Math.max(0, total - height));
	useLayoutEffect(() => {
		const el = box.current;
		if (following && Math.abs(el.scrollTop - viewTop) >= 1)
			el.scrollTop = viewTop;
	});
	// the selected row in view
	useLayoutEffect(() => {
		const el = box.current;
		if (selected < 0)
			return;
		const y = selected * ROW;
		if (y < el.scrollTop)
			el.scrollTop = y;
		else if (y + ROW > el.scrollTop + el.clientHeight)
			el.scrollTop = y + ROW - el.clientHeight;
	}, [selected]);
	const onScroll = (e) => {
		const el = e.currentTarget;
		setTop(el.scrollTop);
		const now = el.scrollTop + el.clientHeight >= total - ROW;
		if (atEnd.current && !now)
			onAway();
		else if (!atEnd.current && now)
			onEnd();
		atEnd.current = now;
	};
	const first = Math.max(0, Math.floor(viewTop / ROW) - 8);
	const last = Math.min(items.length, Math.ceil((viewTop + height) / ROW) + 8);
	const rows = [];
	for (let i = first; i < last; i++)
		rows.push(html`<div class="vrow${i === selected ? ' sel' : ''}" role="row" aria-selected=${i === selected}
			key=${items[i].k} style=${{ top: i * ROW + 'px', height: ROW + 'px' }}>${row(items[i], i)}</div>`);
	return html`<div class="vlist" ref=${box} onScroll=${onScroll} role="grid" aria-label="Records" aria-rowcount=${items.length}>
		<div class="vspace" style=${{ height: total + 'px' }}>${rows}</div>
	</div>`;
}

// Every field of one record, as text.
function Detail({ it, onClose }) {
	const r = rec(it);
	const keys = Object.keys(r).filter((k) => k !== 'attrs');
	const val = (k) => (k === 'ts' ? exactTs(it) : text(r[k]));
	return html`<aside class="detail live-detail" aria-label="Record">
		<div class="lv-dhead"><h2>${text(r.service)} · ${text(r.name || r.msg || r.kind)}</h2>
			<button onClick=${onClose} aria-label="Close" title="Esc">×</button></div>
		<table><tbody>
			${keys.map((k) => html`<tr><td>${k}</td><td class="v">${val(k)}</td></tr>`)}
			${r.attrs && typeof r.attrs === 'object' && Object.entries(r.attrs).map(([k, v]) =>
				html`<tr><td>attrs.${k}</td><td class="v">${text(v)}</td></tr>`)}
		</tbody></table>
		${r.corr && html`<p><a href=${href('trace', [text(r.corr)])}>open the trace →</a></p>`}
	</aside>`;
}

// Why a stream ttd refused ended (a bad regex, a bad filter): its 400 reason.
async function refusal(url) {
	const ac = new AbortController();
	try {
		const r = await fetch(url, { signal: ac.signal, headers: { Accept: 'application/json' } });
		if (r.ok)
			return '';
		const body = await r.json().catch(() => null);
		return (body && body.error) || `HTTP ${r.status}`;
	} catch (e) {
		return 'ttd cannot be reached';
	} finally {
		ac.abort();
	}
}

export function LiveView({ route }) {
	const f = readParams(route.params);
	const key = JSON.stringify(streamParams(f));
	const [rows, setRows] = useState([]);
	const [held, setHeld] = useState(0);         // records waiting while paused
	const [paused, setPausedState] = useState(''); // '', 'user' or 'scroll'
	const [state, setState] = useState('connecting');
	const [why, setWhy] = useState('');
	const [rate, setRate] = useState(0);
	const [dropped, setDropped] = useState(0);
	const [sel, setSel] = useState(-1);
	const [open, setOpen] = useState(null);
	const [end, setEnd] = useState(0);           // a new value: to the end, following
	const buf = useRef({ all: [], hold: [], pending: [], frame: 0, last: 0, cost: 0, seq: 0, paused: '', dropped: 0, count: 0, buckets: [] });

	const trim = (b) => {
		if (b.all.length > KEEP) {
			b.dropped += b.all.length - KEEP;
			b.all = b.all.slice(b.all.length - KEEP);
		}
	};

	// the stream: EventSource reconnects by itself with Last-Event-ID
	useEffect(() => {
		const b = buf.current;
		b.all = [], b.hold = [], b.pending = [], b.dropped = 0, b.count = 0, b.buckets = [];
		if (b.paused === 'scroll')
			b.paused = '';
		setPausedState(b.paused);
		setRows([]), setHeld(0), setDropped(0), setSel(-1), setOpen(null), setWhy(''), setRate(0);
		setState('connecting');
		const flush = (now) => {
			if (b.frame)
				cancelAnimationFrame(b.frame);
			b.frame = 0;
			const every = Math.min(FRAME_MAX_MS, Math.max(FRAME_MS, 4 * b.cost));
			if (now && now - b.last < every && b.pending.length < KEEP) {
				b.frame = requestAnimationFrame(flush);
				return;
			}
			b.last = now || performance.now();
			const t0 = performance.now();
			const batch = b.pending;
			b.pending = [];
			if (b.paused) {
				b.hold = b.hold.concat(batch);
				if (b.hold.length > KEEP) {
					b.dropped += b.hold.length - KEEP;
					b.hold = b.hold.slice(b.hold.length - KEEP);
				}
				setHeld(b.hold.length);
			} else {
				b.all = b.all.concat(batch);
				trim(b);
				setRows(b.all);
			}
			setDropped(b.dropped);
			// runs after preact's render (queued by the first setState)
			queueMicrotask(() => {
				b.cost = 0.7 * b.cost + 0.3 * (performance.now() - t0);
			});
		};
		const url = api.streamURL(streamParams(f));
		const es = new EventSource(url);
		let opened = 0;
		es.onopen = () => {
			opened = opened || performance.now();
			setState('live');
			setWhy('');
		};
		es.onerror = () => {
			if (es.readyState !== EventSource.CLOSED)
				return setState('reconnecting');
			setState('ended');
			refusal(url).then(setWhy);
		};
		es.onmessage = (e) => {
			// records start {"ts":...; control events ({"type":"dropped"},
			// {"type":"timeout"}) are not records
			if (e.data[0] !== '{' || e.data.startsWith('{"type":'))
				return;
			b.pending.push({ raw: e.data, k: ++b.seq });
			// the replay of the first connection is not a rate
			if (performance.now() - opened > 300)
				b.count++;
			if (b.pending.length >= KEEP) // no frames (a hidden tab): do not grow
				flush();
			else if (!b.frame)
				b.frame = requestAnimationFrame(flush);
		};
		const tick = setInterval(() => {
			b.buckets.push(b.count);
			b.count = 0;
			if (b.buckets.length > RATE_S)
				b.buckets.shift();
			setRate(b.buckets.reduce((s, x) => s + x, 0) / b.buckets.length);
		}, 1000);
		return () => {
			es.close();
			clearInterval(tick);
			if (b.frame)
				cancelAnimationFrame(b.frame);
			b.frame = 0;
		};
	}, [key]);

	const pause = (why) => {
		const b = buf.current;
		if (b.paused === why)
			return;
		b.paused = why;
		setPausedState(why);
		if (why)
			return;
		if (b.hold.length) {
			b.all = b.all.concat(b.hold);
			b.hold = [];
			trim(b);
			setRows(b.all);
			setHeld(0);
			setDropped(b.dropped);
		}
		setEnd((x) => x + 1);
	};
	const clear = () => {
		const b = buf.current;
		b.all = [], b.hold = [];
		if (b.paused === 'scroll')
			pause('');
		setRows([]), setHeld(0), setSel(-1), setOpen(null);
	};
	const openAt = (i) => {
		setSel(i);
		setOpen(rows[i] || null);
	};
	// one function for every row (rows are not redrawn): the current rows
	const openRef = useRef(null);
	openRef.current = (it) => openAt(buf.current.all.indexOf(it));
	const openIt = useRef((it) => openRef.current(it)).current;
	useKeys({
		' ': ['pause / resume', () => pause(buf.current.paused ? '' : 'user')],
		j: ['next record', () => setSel((s) => Math.min(rows.length - 1, s + 1))],
		k: ['previous record', () => setSel((s) => Math.max(0, (s < 0 ? rows.length : s) - 1))],
		Enter: ['show the selected record', () => sel >= 0 && openAt(sel)],
		Escape: ['close the record', () => (open ? setOpen(null) : setSel(-1))],
		G: ['to the newest record, following', () => pause('')],
		'/': ['filter by text', () => document.getElementById('lv-grep').focus()],
		c: ['clear the list', clear],
	});
	const waiting = state === 'live' ? 'Waiting for records that match…'
		: state === 'ended' ? 'The stream ended.' : 'Connecting…';
	return html`
		<div class="bar live-bar" role="search">
			<${Field} label="service" value=${f.service.join(' ')} placeholder="any"
				onCommit=${(v) => setParams({ service: words(v) })} />
			<label>level <select aria-label="level" value=${f.level} onChange=${(e) => setParams({ level: e.currentTarget.value })}>
				${LEVELS.map((l) => html`<option value=${l}>${l ? l + '+' : 'any'}</option>`)}</select></label>
			<${Field} label="kind" value=${f.kind} placeholder="span, log…" onCommit=${(v) => setParams({ kind: v })} />
			<${Field} label="FIELD=VALUE" value=${f.match.join(' ')} placeholder="attrs.region=eu" wide
				onCommit=${(v) => setParams({ match: words(v).filter((x) => x.includes('=')) })} />
			<${Field} id="lv-grep" label="text" value=${f.grep} placeholder="regex" onCommit=${(v) => setParams({ grep: v })} />
			<span class="spacer"></span>
			<span class="lv-state ${state}" role="status" aria-live="polite">● ${state}</span>
			<span class="lv-rate" title=${`records per second, last ${RATE_S} s`}>${num(rate, rate < 10 ? 1 : 0)}/s</span>
			<button class=${paused ? 'primary' : ''} onClick=${() => pause(paused ? '' : 'user')} title="Space">${paused ? 'resume' : 'pause'}</button>
			<button onClick=${clear} title="c">clear</button>
		</div>
		<${CmdLine} cmd=${command(f)} />
		${why && html`<div class="error-box" role="alert">${why}</div>`}
		<div class="live-layout">
			<div class="live-main">
				<div class="lv-head" aria-hidden="true"><span class="lv-time">time</span><span class="lv-svc">service</span>
					<span class="lv-level">level</span><span class="lv-kind">kind</span><span class="lv-corr">corr</span>
					<span class="lv-name">name</span><span class="lv-msg">message</span></div>
				${held > 0 && html`<button class="banner lv-banner" onClick=${() => pause('')}>
					${num(held)} new — ${paused === 'scroll' ? 'scroll to the end or click to follow' : 'resume (Space)'}</button>`}
				${rows.length ? html`<${Feed} items=${rows} follow=${!paused} selected=${sel} end=${end}
					onAway=${() => !buf.current.paused && pause('scroll')}
					onEnd=${() => buf.current.paused === 'scroll' && pause('')}
					row=${(it) => html`<${Row} it=${it} onOpen=${openIt} />`} />`
				: html`<div class="empty">${waiting}</div>`}
			</div>
			${open && html`<${Detail} it=${open} onClose=${() => setOpen(null)} />`}
		</div>
		<div class="lv-foot">${num(rows.length)} records in view${dropped
			? ` · ${num(dropped)} older ones dropped (the tab keeps the newest ${num(KEEP)})` : ''}${
			paused === 'user' ? ' · paused' : paused === 'scroll' ? ' · not following (scrolled up)' : ''}</div>`;
}
