// views/chart.js -- a small uPlot wrapper for the Services and LLM views:
// time series over a range of buckets, colours from style.css's variables
// (redrawn when the system switches light/dark), the width of its box
// (ResizeObserver), a legend with the values under the cursor, times in
// local time. A click on a bucket or a drag over several reports the time
// window to onPick(fromNs, toNs) so a view can open the Traces view there.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from '../html.js';
import { time } from '../format.js';

// Categorical colours for series beyond the ones a view names with a CSS
// variable (tab10-like, a lighter set for the dark background).
const PALETTE = {
	light: ['#2458c6', '#d9822b', '#23803a', '#c62828', '#7b4fc9', '#0f8b8d', '#b8457e', '#6b7a2a', '#5b6475', '#a15c00'],
	dark: ['#7aa7ff', '#f0a45d', '#56d364', '#ff7b72', '#b392f0', '#39c5cf', '#f778ba', '#c9d05c', '#9aa3b2', '#e3b341'],
};
const DARK = '(prefers-color-scheme: dark)';

export function paletteColor(i) {
	const p = PALETTE[matchMedia(DARK).matches ? 'dark' : 'light'];
	return p[i % p.length];
}

// Bucket starts from since to until (multiples of every since the epoch, as
// ttd's buckets are), in ns.
export function buckets(sinceNs, untilNs, everyNs) {
	const out = [];
	let t = Math.floor(sinceNs / everyNs) * everyNs;
	for (; t <= untilNs && out.length < 5000; t += everyNs)
		out.push(t);
	return out;
}

// Series values on the bucket grid: m maps bucket start (ns) -> value;
// missing buckets get fill (0 for counts, null for latencies: a gap).
export function onGrid(grid, m, fill) {
	return grid.map((t) => (m.has(t) ? m.get(t) : fill));
}

// A colour given as 'var(--name)' is read from the page's computed style, a
// number is the palette's (both follow light/dark).
function colour(c, cs) {
	if (typeof c === 'number')
		return paletteColor(c);
	const m = /^var\((--[\w-]+)\)$/.exec(c || '');
	return m ? cs.getPropertyValue(m[1]).trim() : c;
}

function useTheme() {
	const [dark, setDark] = useState(() => matchMedia(DARK).matches);
	useEffect(() => {
		const mq = matchMedia(DARK);
		const on = () => setDark(mq.matches);
		mq.addEventListener('change', on);
		return () => mq.removeEventListener('change', on);
	}, []);
	return dark;
}

// Chart props:
//   title     heading above the chart
//   x         bucket starts, ns
//   series    [{label, values, color ('var(--x)', a palette index or a colour), fmt, fill}]
//   fmt       y axis value -> text (the legend's too, unless value or a series' fmt)
//   value     legend value -> text
//   everyNs   the bucket size, for onPick of a single bucket
//   onPick    (fromNs, toNs) on a click on a bucket or a drag-select
//   height    of the plot area, px
export function Chart({ title, x, series, fmt = String, value, everyNs, onPick, height = 170, id }) {
	const box = useRef(null);
	const plot = useRef(null);
	const pick = useRef(onPick);
	pick.current = onPick;
	const dark = useTheme();

	useEffect(() => {
		const el = box.current;
		if (!el)
			return;
		const cs = getComputedStyle(document.documentElement);
		const fg2 = cs.getPropertyValue('--fg2').trim(), line = cs.getPropertyValue('--line').trim();
		const axis = { stroke: fg2, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 },
			font: '11px system-ui, sans-serif' };
		// points where lines would not show: few buckets, or a sparse series
		const dots = (v) => x.length <= 40 || v.filter((y) => y !== null && y !== undefined).length <= 40;
		const opts = {
			width: Math.max(200, el.clientWidth),
			height: height + 30,
			legend: { show: true, live: true },
			cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 6 } },
			scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.08 : 1] } },
			axes: [{ ...axis }, { ...axis, size: 72, values: (u, vals) => vals.map((v) => fmt(v)) }],
			series: [
				{ label: 'time', value: (u, v) => (v === null || v === undefined ? '–' : time(v * 1e9, true).slice(0, 19)) },
				...series.map((s) => {
					const c = colour(s.color, cs);
					const f = s.fmt || value || fmt;
					return { label: s.label, stroke: c, width: 1.5, fill: s.fill ? c + '22' : undefined,
						points: { show: dots(s.values), size: 4, fill: c }, spanGaps: false,
						value: (u, v) => (v === null || v === undefined ? '–' : f(v)) };
				}),
			],
			hooks: {
				setSelect: [(u) => {
					if (u.select.width < 4)
						return;
					const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
					u.dragged = true;
					u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
					if (pick.current)
						pick.current(a * 1e9, b * 1e9);
				}],
			},
		};
		const data = [x.map((t) => t / 1e9), ...series.map((s) => s.values)];
		const u = new uPlot(opts, data, el);
		plot.current = u;
		u.over.style.cursor = onPick ? 'pointer' : '';
		// a click (not the end of a drag) picks the bucket under the cursor
		const click = () => {
			if (u.dragged) {
				u.dragged = false;
				return;
			}
			const i = u.cursor.idx;
			if (i !== null && i !== undefined && pick.current && everyNs)
				pick.current(x[i], x[i] + everyNs);
		};
		u.over.addEventListener('click', click);
		const ro = new ResizeObserver(() => {
			const w = Math.max(200, el.clientWidth);
			if (w !== u.width)
				u.setSize({ width: w, height: height + 30 });
		});
		ro.observe(el);
		return () => {
			ro.disconnect();
			u.over.removeEventListener('click', click);
			u.destroy();
			plot.current = null;
		};
	}, [x, series, dark, height]);

	return html`<figure class="uc" id=${id} aria-label=${title} data-from=${x[0]} data-to=${x[x.length - 1]}>
		<figcaption>${title}</figcaption>
		<div class="uc-plot" ref=${box} role="img" aria-label=${`${title}: ${series.map((s) => s.label).join(', ')}`}></div>
	</figure>`;
}

// ---- ranges and buckets, as the Services and LLM views keep them in the URL

const UNIT = { s: 1e9, m: 60e9, h: 3600e9, d: 86400e9, w: 604800e9 };

// '30s', '5m', '2h', '1d' -> ns (0 when not of that form).
export function durNs(s) {
	const m = /^(\d+)([smhdw])$/.exec(s || '');
	return m ? Number(m[1]) * UNIT[m[2]] : 0;
}

// Bucket sizes a view picks from: the smallest that gives at most 120 points.
export const STEPS = ['1s', '2s', '5s', '10s', '15s', '30s', '1m', '2m', '5m', '10m', '15m', '30m', '1h', '2h', '3h', '6h', '12h', '1d'];

export function autoEvery(spanNs) {
	return STEPS.find((s) => spanNs / durNs(s) <= 120) || '1d';
}

// ns since the epoch as digits for ttd (it reads the unit from the size).
export const nsText = (ns) => String(BigInt(Math.round(ns / 1e3)) * 1000n);

// RFC 3339 in UTC to the second, as the Traces view and tt-query accept it;
// up rounds to the next second (an until that keeps the whole window).
export function rfc3339(ns, up = false) {
	const s = (up ? Math.ceil : Math.floor)(ns / 1e9);
	return new Date(s * 1e3).toISOString().replace(/\.000Z$/, 'Z');
}

// since/until as the URL has them (relative '1h' or any time ttd accepts)
// -> {since, until} in ns. A preset is computed here; anything else is
// resolved by ttd itself (an /api/stats that matches nothing answers the
// window it read), so the view accepts every syntax tt-query does.
export async function resolveRange(since, until, getJSON, signal) {
	const now = Date.now() * 1e6;
	if (durNs(since) && !until)
		return { since: now - durNs(since), until: now };
	const q = new URLSearchParams({ kind: '\u0001' });
	if (since)
		q.set('since', since);
	if (until)
		q.set('until', until);
	const b = await getJSON('/api/stats?' + q, { signal });
	return { since: b.since < -9e18 ? now - 3600e9 : b.since, until: b.until > 9e18 ? now : b.until };
}
