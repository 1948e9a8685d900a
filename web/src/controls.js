// controls.js -- the controls several views share: the time range picker,
// the copyable command line, a text field that commits on Enter or blur.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';

export const PRESETS = [['15m', 'last 15 min'], ['1h', 'last hour'], ['6h', 'last 6 hours'], ['24h', 'last 24 hours'], ['7d', 'last 7 days'], ['', 'all time']];

// since/until as ttd and tt-query accept them: relative ("1h") or absolute.
export function RangePicker({ since, until, onChange, allowAll = true }) {
	const known = PRESETS.some(([v]) => v === (since || '')) && !until;
	const [custom, setCustom] = useState(!known);
	return html`<label>Range
		<select aria-label="Time range" value=${custom ? 'custom' : since || ''}
			onChange=${(e) => {
				const v = e.currentTarget.value;
				if (v === 'custom')
					return setCustom(true);
				setCustom(false);
				onChange({ since: v, until: '' });
			}}>
			${PRESETS.filter(([v]) => allowAll || v).map(([v, l]) => html`<option value=${v}>${l}</option>`)}
			<option value="custom">custom…</option>
		</select></label>
		${custom && html`<${Field} label="since" value=${since} placeholder="2026-12-05T10:00:00Z" onCommit=${(v) => onChange({ since: v, until })} />
			<${Field} label="until" value=${until} placeholder="now" onCommit=${(v) => onChange({ since, until: v })} />`}`;
}

// A text input that reports its value on Enter or when it loses focus.
export function Field({ label, value = '', onCommit, placeholder, wide, id }) {
	const [v, setV] = useState(value || '');
	const sent = useRef(value || '');
	useEffect(() => {
		setV(value || '');
		sent.current = value || '';
	}, [value]);
	// once per value: Enter then the blur of a view going away must not
	// commit it twice (a second search would navigate again)
	const commit = () => {
		if (v === sent.current)
			return;
		sent.current = v;
		onCommit(v.trim());
	};
	return html`<label>${label}
		<input id=${id} class=${wide ? 'wide' : ''} value=${v} placeholder=${placeholder} aria-label=${label}
			onInput=${(e) => setV(e.currentTarget.value)} onBlur=${commit}
			onKeyDown=${(e) => e.key === 'Enter' && commit()} /></label>`;
}

// The equivalent command line, with a copy button.
export function CmdLine({ cmd, id = 'cmdline' }) {
	const code = useRef(null);
	const [done, setDone] = useState(false);
	const copy = async () => {
		try {
			await navigator.clipboard.writeText(cmd);
		} catch (e) {
			const r = document.createRange();
			r.selectNodeContents(code.current);
			getSelection().removeAllRanges();
			getSelection().addRange(r);
		}
		setDone(true);
		setTimeout(() => setDone(false), 1200);
	};
	return html`<div class="cmd" aria-label="Equivalent command line"><span class="muted">$</span>
		<code id=${id} ref=${code}>${cmd}</code>
		<button onClick=${copy} title="Copy the command">${done ? 'copied' : 'copy'}</button></div>`;
}

// Loading / error / empty states, the same everywhere.
export function Status({ loading, error, empty, children }) {
	if (error)
		return html`<div class="error-box" role="alert">${String(error.message || error)}</div>`;
	if (loading)
		return html`<div class="empty" aria-busy="true">loading…</div>`;
	if (empty)
		return html`<div class="empty">${empty}</div>`;
	return children;
}

// Load with f(signal) whenever deps change; {data, error, loading}.
export function useLoad(f, deps) {
	const [st, setSt] = useState({ loading: true });
	useEffect(() => {
		const ac = new AbortController();
		setSt((s) => ({ ...s, loading: true, error: null }));
		f(ac.signal).then((data) => setSt({ data, loading: false }),
			(error) => !ac.signal.aborted && setSt((s) => ({ ...s, error, loading: false }))); // keep the last data
		return () => ac.abort();
	}, deps);
	return st;
}
