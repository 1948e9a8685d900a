// api.js -- the only file that knows ttd's URLs and JSON shapes. Views get
// records in TeraTrace's shape (ts in ns, corr, service, name, dur, span,
// parent, attrs, ...) whatever the daemon answers: /api/... first, then the
// TraceHub endpoints with ?format=tt, then TraceHub's own shape, converted.

export class ApiError extends Error {
	constructor(message, status) {
		super(message);
		this.status = status;
	}
}

function qs(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {}))
		for (const x of Array.isArray(v) ? v : [v])
			if (x !== undefined && x !== null && x !== '')
				q.append(k, x);
	const s = q.toString();
	return s ? '?' + s : '';
}

// GET url: the parsed body; 404 gives null when allow404, else an ApiError
// carrying ttd's {"error"} reason.
export async function getJSON(url, { signal, allow404 = false } = {}) {
	const r = await fetch(url, { signal, headers: { Accept: 'application/json' } });
	let body = null;
	try {
		body = await r.json();
	} catch (e) {
		body = null;
	}
	if (r.status === 404 && allow404)
		return null;
	if (!r.ok)
		throw new ApiError((body && body.error) || `${r.status} ${r.statusText}`, r.status);
	return body;
}

// Try urls in order; a 404 "no such endpoint" moves on to the next.
async function first(urls, opts) {
	let last = null;
	for (const u of urls) {
		try {
			return await getJSON(u, opts);
		} catch (e) {
			if (e.status !== 404 || /no such/.test(e.message) === false)
				throw e;
			last = e;
		}
	}
	throw last;
}

// TraceHub's trace -> TeraTrace's record (FORMAT.md 4.1).
function fromTraceHub(t) {
	const r = {};
	for (const [k, v] of Object.entries(t)) {
		if (v === null)
			continue;
		const map = { correlation_id: 'corr', source_id: 'service', direction: 'dir',
			operation: 'name', data: 'attrs', hostname: 'host' };
		if (k === 'timestamp')
			r.ts = Math.round(v * 1e6);
		else
			r[map[k] || k] = v;
	}
	return r;
}

export function normalizeRecord(r) {
	return r && r.ts === undefined && r.timestamp !== undefined ? fromTraceHub(r) : r;
}

function normalizeId(s) {
	if (s.corr !== undefined)
		return s;
	return {
		corr: s.correlation_id, count: s.trace_count,
		first_ts: Math.round(s.first_ts * 1e6), last_ts: Math.round(s.last_ts * 1e6),
		dur: Math.round(s.duration_ms * 1e6), services: s.sources || [],
		services_omitted: s.sources_omitted || 0, complete: s.complete,
	};
}

// Recent correlation ids, newest first: [{corr, count, first_ts, last_ts,
// dur, services, complete, n_req, n_resp}].
export async function correlations({ limit = 50, source, since, until } = {}, opts) {
	const q = qs({ limit, source, since, until });
	const body = await first(['/api/correlations' + q, '/correlations' + q + (q ? '&' : '?') + 'format=tt'], opts);
	return (body || []).map(normalizeId);
}

// Every record of one id in time order: {records, count, complete, truncated},
// or null when the id has none.
export async function trace(id, { limit } = {}, opts) {
	const e = encodeURIComponent(id);
	const q = qs({ limit });
	const body = await first(['/api/traces/' + e + q, '/traces/' + e + q + (q ? '&' : '?') + 'format=tt'],
		{ ...opts, allow404: true });
	if (!body || !body.count)
		return null;
	return { records: body.traces.map(normalizeRecord), count: body.count,
		complete: !!body.complete, truncated: !!body.truncated };
}

// GET /api/stats: {rows, path, every_ns, since, until}.
export const stats = (params, opts) => getJSON('/api/stats' + qs(params), opts);
// GET /api/services: {services:[{service, count, ..., series}], ...}.
export const services = (params, opts) => getJSON('/api/services' + qs(params), opts);
export const alerts = (opts) => getJSON('/api/alerts', opts);
export const store = (params, opts) => getJSON('/api/store' + qs(params), opts);
export const health = (opts) => getJSON('/health', opts);

export function streamURL(params) {
	return '/stream' + qs(params);
}

export function traceStreamURL(id) {
	return '/api/traces/' + encodeURIComponent(id) + '/stream';
}
