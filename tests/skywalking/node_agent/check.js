// Checks the records `l7conform serve --grpc` wrote for app.js's requests
// against what the agent sent (SENT_JSON, observed at the agent's gRPC
// client). Prints every failed check; exit 1 if any.
//
// usage: node check.js RECORDS_JSONL SENT_JSON
'use strict';

const fs = require('fs');
const [recordsPath, sentPath] = process.argv.slice(2);
const records = fs.readFileSync(recordsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const sent = JSON.parse(fs.readFileSync(sentPath, 'utf8'));

let failures = 0;
function check(ok, what) {
  if (!ok) {
    ++failures;
    console.log(`FAILED: ${what}`);
  }
}

// The receiver saw exactly the segments the agent sent: the same segment
// ids, one record per span, none twice.
const sentSegments = new Set(sent.map((s) => s.traceSegmentId));
const sentSpans = sent.reduce((n, s) => n + s.spans.length, 0);
const segmentOf = (r) => r.span_id.slice(0, r.span_id.lastIndexOf('-'));
const seenSegments = new Set(records.map(segmentOf));
check(sentSegments.size === sent.length, `the agent sent ${sent.length} segments with distinct ids`);
check(
  [...sentSegments].every((id) => seenSegments.has(id)) && [...seenSegments].every((id) => sentSegments.has(id)),
  `segments seen (${[...seenSegments].sort()}) = segments sent (${[...sentSegments].sort()})`,
);
check(records.length === sentSpans, `${records.length} records for ${sentSpans} spans sent`);
check(new Set(records.map((r) => r.span_id)).size === records.length, 'no span_id twice');

for (const r of records) {
  check(r.app_service === 'l7-node-agent-test', `service name of ${r.span_id}: ${r.app_service}`);
  check(r.app_instance === 'instance-1', `instance of ${r.span_id}: ${r.app_instance}`);
  check(r.l7_protocol === 20 && r.l7_protocol_str === 'HTTP', `HTTP protocol on ${r.span_id}`);
  check(r.type === 2 && r.signal_source === 4, `type 2, signal_source 4 on ${r.span_id}`);
}

// Each request gives an exit span (the client) and an entry span (the
// server), both with method, path, status code and status.
const expected = [
  { method: 'GET', path: '/ok', code: 200, status: 0, exception: '' },
  { method: 'GET', path: '/missing', code: 404, status: 4, exception: 'Not Found' },
  { method: 'GET', path: '/fail', code: 500, status: 3, exception: 'Internal Server Error' },
  { method: 'POST', path: '/orders?id=7', code: 200, status: 0, exception: '' },
  { method: 'GET', path: '/chain', code: 200, status: 0, exception: '' },
];
const kinds = { exit: { span_kind: 3, observation_point: 'c-app' }, entry: { span_kind: 2, observation_point: 's-app' } };
for (const e of expected) {
  for (const [name, kind] of Object.entries(kinds)) {
    const found = records.filter(
      (r) => r.span_kind === kind.span_kind && r.observation_point === kind.observation_point &&
        r.request_type === e.method && r.request_resource === e.path,
    );
    // /ok is asked twice: by the client, and by the server inside /chain.
    const want = e.path === '/ok' ? 2 : 1;
    check(found.length === want, `${want} ${name} record(s) for ${e.method} ${e.path}, found ${found.length}`);
    for (const r of found) {
      check(r.response_code === e.code, `${name} ${e.method} ${e.path}: response_code ${r.response_code}`);
      check(r.response_status === e.status, `${name} ${e.method} ${e.path}: response_status ${r.response_status}`);
      check(r.response_exception === e.exception, `${name} ${e.method} ${e.path}: response_exception ${r.response_exception}`);
      check(r.end_time >= r.start_time && r.start_time > 0, `${name} ${e.method} ${e.path}: times`);
    }
  }
}

// Parent/child links: every parent is a record of the same trace; the
// server's entry span is the child of the client's exit span; the roots are
// the five client calls.
const bySpan = new Map(records.map((r) => [r.span_id, r]));
for (const r of records) {
  if (r.parent_span_id === '') continue;
  const parent = bySpan.get(r.parent_span_id);
  check(parent !== undefined, `parent ${r.parent_span_id} of ${r.span_id} is a record`);
  if (parent === undefined) continue;
  check(parent.trace_id === r.trace_id, `${r.span_id} is in its parent's trace`);
  if (r.span_kind === 2) {
    check(parent.span_kind === 3 && parent.request_resource === r.request_resource,
          `entry ${r.request_resource} is the child of the exit span that called it`);
  }
}
const roots = records.filter((r) => r.parent_span_id === '');
check(roots.length === 5 && roots.every((r) => r.span_kind === 3), `5 roots, the client's exit spans (${roots.length})`);
check(new Set(records.map((r) => r.trace_id)).size === 5, 'one trace per client request');
const chain = records.find((r) => r.span_kind === 2 && r.request_resource === '/chain');
const inner = chain && records.find((r) => r.span_kind === 3 && r.parent_span_id === chain.span_id);
check(inner !== undefined && inner.request_resource === '/ok', '/chain entry span has an exit child calling /ok');
check(inner !== undefined && segmentOf(inner) === segmentOf(chain), "that exit span is in /chain's segment");
const innerEntry = inner && records.find((r) => r.parent_span_id === inner.span_id);
check(innerEntry !== undefined && innerEntry.span_kind === 2 && innerEntry.trace_id === chain.trace_id,
      'the /ok it called is an entry span of the same trace, child of that exit span');

console.log(`check.js: ${records.length} records, ${sent.length} segments, ${failures} failed checks`);
process.exit(failures === 0 ? 0 : 1);
