// format.js -- numbers, times and durations as people read them.
// Times are nanoseconds since the epoch as JSON numbers: above 2^53 they
// lose up to ~0.25 us, far below what a page shows.

export function dur(ns) {
	if (ns === null || ns === undefined || Number.isNaN(ns))
		return '';
	const a = Math.abs(ns);
	if (a < 1e3)
		return ns.toFixed(0) + ' ns';
	if (a < 1e6)
		return (ns / 1e3).toFixed(a < 1e4 ? 2 : 1) + ' µs';
	if (a < 1e9)
		return (ns / 1e6).toFixed(a < 1e7 ? 2 : 1) + ' ms';
	if (a < 60e9)
		return (ns / 1e9).toFixed(2) + ' s';
	if (a < 3600e9)
		return Math.floor(ns / 60e9) + 'm' + Math.round((ns % 60e9) / 1e9) + 's';
	if (a < 172800e9)
		return (ns / 3600e9).toFixed(1) + ' h';
	return (ns / 86400e9).toFixed(a < 864000e9 ? 1 : 0) + ' d';
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

export function time(ns, withDate = false) {
	if (!ns)
		return '';
	const d = new Date(ns / 1e6);
	const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
	return withDate ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${t}` : t;
}

export function ago(ns) {
	const s = (Date.now() - ns / 1e6) / 1e3;
	if (s < 60)
		return Math.max(0, Math.round(s)) + 's ago';
	if (s < 3600)
		return Math.round(s / 60) + 'm ago';
	if (s < 86400)
		return Math.round(s / 3600) + 'h ago';
	return Math.round(s / 86400) + 'd ago';
}

export function bytes(n) {
	if (n === null || n === undefined)
		return '';
	const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (n >= 1024 && i < u.length - 1) {
		n /= 1024;
		i++;
	}
	return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
}

export function num(n, digits = 0) {
	if (n === null || n === undefined)
		return '';
	return Number(n).toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function pct(x) {
	return x === null || x === undefined ? '' : (x * 100).toFixed(x < 0.01 && x > 0 ? 2 : 1) + '%';
}

// A value of a record as one line of text (objects as JSON).
export function text(v) {
	if (v === null || v === undefined)
		return '';
	return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// Quote a word for a POSIX shell, for the tt-query command lines.
export function shq(s) {
	s = String(s);
	return /^[A-Za-z0-9_.,:=/@%+-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
}
