// keys.js -- keyboard first. A view registers its keys with useKeys(); the
// shell lists every key of the current view when ? is pressed. Keys typed
// into a field go to the field (Esc leaves it).
import { useEffect, useRef } from 'preact/hooks';

const active = new Set();

export function keyHelp() {
	const out = [['?', 'this help'], ['g t / g l / g s', 'go to Traces, Live, Services'], ['Esc', 'close, leave a field, clear selection']];
	for (const reg of active)
		for (const [k, [desc]] of Object.entries(reg.current))
			out.push([k, desc]);
	return out;
}

function typing(e) {
	const t = e.target;
	return t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}

// map: { key: [description, handler] }; keys as KeyboardEvent.key ('j', 'Enter', '/').
export function useKeys(map) {
	const ref = useRef(map);
	ref.current = map;
	useEffect(() => {
		active.add(ref);
		return () => active.delete(ref);
	}, []);
}

let pendingG = false;

export function installKeys({ onHelp, onGo }) {
	addEventListener('keydown', (e) => {
		if (e.ctrlKey || e.metaKey || e.altKey)
			return;
		if (typing(e)) {
			if (e.key === 'Escape')
				e.target.blur();
			return;
		}
		if (pendingG) {
			pendingG = false;
			const to = { t: 'traces', l: 'live', s: 'services', m: 'llm', a: 'alerts', d: 'store' }[e.key];
			if (to) {
				e.preventDefault();
				onGo(to);
				return;
			}
		}
		if (e.key === 'g') {
			pendingG = true;
			return;
		}
		if (e.key === '?') {
			e.preventDefault();
			onHelp();
			return;
		}
		for (const reg of [...active].reverse()) {
			const k = reg.current[e.key];
			if (k) {
				e.preventDefault();
				k[1](e);
				return;
			}
		}
	});
}
