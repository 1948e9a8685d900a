// export.js MODE URL [TOKEN]: export a parent and a child span to ttd with the
// official OpenTelemetry JS SDK, then print what was sent as one JSON line.
//   MODE: json (OTLP/HTTP JSON, gzip-compressed) or proto (OTLP/HTTP protobuf)
// Exits non-zero if the exporter reports a failure.
'use strict';
const api = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const [mode, url, token] = process.argv.slice(2);
const { OTLPTraceExporter } = require(mode === 'proto'
  ? '@opentelemetry/exporter-trace-otlp-proto'
  : '@opentelemetry/exporter-trace-otlp-http');

const headers = token ? { Authorization: 'Bearer ' + token } : {};
const inner = new OTLPTraceExporter({
  url: url + '/v1/traces',
  headers,
  compression: mode === 'json' ? 'gzip' : 'none',
});
let failure = null;
// wrap the exporter to see its result (the SDK only logs failures)
const exporter = {
  export(spans, done) {
    inner.export(spans, (res) => {
      if (res.code !== 0) failure = res.error ? String(res.error) : 'export failed';
      done(res);
    });
  },
  shutdown() { return inner.shutdown(); },
  forceFlush() { return inner.forceFlush ? inner.forceFlush() : Promise.resolve(); },
};
const service = 'otel-' + mode;
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': service }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('ttd-test', '1.0.0');

(async () => {
  const parent = tracer.startSpan('GET /checkout', {
    kind: api.SpanKind.SERVER,
    attributes: { 'http.method': 'GET', 'http.status_code': 200 },
  });
  const ctx = api.trace.setSpan(api.context.active(), parent);
  const child = tracer.startSpan('db.query', {
    kind: api.SpanKind.CLIENT,
    attributes: { 'db.system': 'lmdb', 'db.rows': 42, 'cache.hit': true },
  }, ctx);
  child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'deadlock detected' });
  child.end();
  parent.setStatus({ code: api.SpanStatusCode.OK });
  parent.end();
  await provider.forceFlush();
  await provider.shutdown();
  const p = parent.spanContext(), c = child.spanContext();
  console.log(JSON.stringify({
    traceId: p.traceId, parentSpanId: p.spanId, childSpanId: c.spanId, service,
  }));
  if (failure) {
    console.error('export failed: ' + failure);
    process.exit(1);
  }
})().catch((e) => { console.error(e); process.exit(1); });
