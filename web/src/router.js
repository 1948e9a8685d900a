// router.js -- the URL is the state. A view is the first path segment after
// /ui/; its filters, range and selection are the query string. Views read
// them with useRoute() and change them with setParams(), so every state can
// be reloaded, bookmarked and shared, and back/forward work.
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui/';
const EVENT = 'tt-route';

export function parseRoute(loc = location) {
	const rest = loc.pathname.startsWith(BASE) ? loc.pathname.slice(BASE.length) : '';
	const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
	return { view: parts[0] || 'traces', args: parts.slice(1), params: new URLSearchParams(loc.search) };
}

// A link inside the app: view, path arguments and query parameters (empty
// values are left out so URLs stay short).
export function href(view, args = [], params = {}) {
	const path = BASE + (view === 'traces' ? '' : view) +
		args.map((a) => '/' + encodeURIComponent(a)).join('');
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params)) {
		for (const x of Array.isArray(v) ? v : [v])
			if (x !== undefined && x !== null && x !== '') q.append(k, x);
	}
	const s = q.toString();
	return s ? path + '?' + s : path;
}

export function navigate(url, replace = false) {
	if (url === location.pathname + location.search)
		return;
	history[replace ? 'replaceState' : 'pushState'](null, '', url);
	dispatchEvent(new Event(EVENT));
}

// Change some query parameters of the current view; a value of '' or null
// removes it. Filters replace the history entry unless push is asked for.
export function setParams(patch, push = false) {
	const q = new URLSearchParams(location.search);
	for (const [k, v] of Object.entries(patch)) {
		q.delete(k);
		for (const x of Array.isArray(v) ? v : [v])
			if (x !== undefined && x !== null && x !== '') q.append(k, x);
	}
	const s = q.toString();
	navigate(location.pathname + (s ? '?' + s : ''), !push);
}

export function useRoute() {
	const [route, setRoute] = useState(parseRoute);
	useEffect(() => {
		const on = () => setRoute(parseRoute());
		addEventListener('popstate', on);
		addEventListener(EVENT, on);
		return () => {
			removeEventListener('popstate', on);
			removeEventListener(EVENT, on);
		};
	}, []);
	return route;
}

// Clicks on in-app links change the route without a page load (modifier
// clicks and other targets keep the browser's behaviour).
export function interceptLinks(root) {
	root.addEventListener('click', (e) => {
		const a = e.target.closest && e.target.closest('a[href]');
		if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey ||
		    e.shiftKey || e.altKey || a.target || !a.getAttribute('href').startsWith(BASE))
			return;
		e.preventDefault();
		navigate(a.getAttribute('href'));
	});
}
