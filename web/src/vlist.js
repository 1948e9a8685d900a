// vlist.js -- a virtualised list: only the rows in view (plus a margin) are
// in the DOM, so 100 000 rows cost what 50 do. Rows have one fixed height.
// `follow` keeps the list scrolled to the end while the user is there.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';

const MARGIN = 10;

export function VList({ items, rowHeight = 24, row, selected = -1, follow = false, onScrollAway, label }) {
	const box = useRef(null);
	const [top, setTop] = useState(0);
	const [height, setHeight] = useState(600);
	const atEnd = useRef(true);

	useLayoutEffect(() => {
		const el = box.current;
		const ro = new ResizeObserver(() => setHeight(el.clientHeight));
		ro.observe(el);
		return () => ro.disconnect();
	}, []);

	// keep the end in view while following
	useLayoutEffect(() => {
		const el = box.current;
		if (follow && atEnd.current)
			el.scrollTop = el.scrollHeight;
	}, [items, items.length, follow]);

	// keep the selected row in view
	useEffect(() => {
		const el = box.current;
		if (selected < 0)
			return;
		const y = selected * rowHeight;
		if (y < el.scrollTop)
			el.scrollTop = y;
		else if (y + rowHeight > el.scrollTop + el.clientHeight)
			el.scrollTop = y + rowHeight - el.clientHeight;
	}, [selected]);

	const onScroll = (e) => {
		const el = e.currentTarget;
		setTop(el.scrollTop);
		const end = el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight;
		if (atEnd.current && !end && onScrollAway)
			onScrollAway();
		atEnd.current = end;
	};

	const first = Math.max(0, Math.floor(top / rowHeight) - MARGIN);
	const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + MARGIN);
	const rows = [];
	for (let i = first; i < last; i++)
		rows.push(html`<div class="vrow${i === selected ? ' sel' : ''}" role="row" aria-selected=${i === selected}
			key=${i} style=${{ top: i * rowHeight + 'px', height: rowHeight + 'px' }}>${row(items[i], i)}</div>`);
	return html`<div class="vlist" ref=${box} onScroll=${onScroll} role="grid" aria-label=${label} aria-rowcount=${items.length}>
		<div class="vspace" style=${{ height: items.length * rowHeight + 'px' }}>${rows}</div>
	</div>`;
}
