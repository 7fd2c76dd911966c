// A small Node HTTP server and client under the official SkyWalking Node.js
// agent (npm skywalking-backend-js), reporting over gRPC to the receiver
// given on the command line. A bounded, fixed list of requests: 200, 404,
// a 500, a POST, and one whose handler calls the server again (a trace
// across two entry spans).
//
// usage: node app.js COLLECTOR_HOST:PORT TOKEN SENT_JSON
// Writes to SENT_JSON every segment the agent put on the wire, in the HTTP
// API's JSON shape (observed at the agent's own gRPC client, bytes
// unchanged), so the test can check the receiver saw exactly those.
'use strict';

const [collector, token, sentPath] = process.argv.slice(2);
const fs = require('fs');

// Everything here is bounded: a test must end even if the receiver hangs.
setTimeout(() => {
  console.error('app.js: gave up after 40 s');
  process.exit(3);
}, 40000).unref();

// Observe what the agent writes to its collect streams.
const sent = [];
const tracingGrpc = require('skywalking-backend-js/lib/proto/language-agent/Tracing_grpc_pb');
const collect = tracingGrpc.TraceSegmentReportServiceClient.prototype.collect;
tracingGrpc.TraceSegmentReportServiceClient.prototype.collect = function (...args) {
  const stream = collect.apply(this, args);
  const write = stream.write.bind(stream);
  stream.write = (message, ...rest) => {
    sent.push(segmentJson(message.toObject()));
    return write(message, ...rest);
  };
  return stream;
};

// google-protobuf's toObject() names (spansList, traceid, ...) → the JSON
// keys of SkyWalking's HTTP API, enums as numbers, int64 as numbers.
function segmentJson(s) {
  const pairs = (list) => list.map((t) => ({ key: t.key, value: t.value }));
  return {
    traceId: s.traceid,
    traceSegmentId: s.tracesegmentid,
    service: s.service,
    serviceInstance: s.serviceinstance,
    isSizeLimited: s.issizelimited,
    spans: s.spansList.map((p) => ({
      spanId: p.spanid,
      parentSpanId: p.parentspanid,
      startTime: p.starttime,
      endTime: p.endtime,
      refs: p.refsList.map((r) => ({
        refType: r.reftype,
        traceId: r.traceid,
        parentTraceSegmentId: r.parenttracesegmentid,
        parentSpanId: r.parentspanid,
        parentService: r.parentservice,
        parentServiceInstance: r.parentserviceinstance,
        parentEndpoint: r.parentendpoint,
        networkAddressUsedAtPeer: r.networkaddressusedatpeer,
      })),
      operationName: p.operationname,
      peer: p.peer,
      spanType: p.spantype,
      spanLayer: p.spanlayer,
      componentId: p.componentid,
      isError: p.iserror,
      tags: pairs(p.tagsList),
      logs: p.logsList.map((l) => ({ time: l.time, data: pairs(l.dataList) })),
      skipAnalysis: p.skipanalysis,
    })),
  };
}

// Observe the answers to the agent's management calls (its heartbeat).
const management = [];
const managementGrpc = require('skywalking-backend-js/lib/proto/management/Management_grpc_pb');
for (const method of ['reportInstanceProperties', 'keepAlive']) {
  const call = managementGrpc.ManagementServiceClient.prototype[method];
  managementGrpc.ManagementServiceClient.prototype[method] = function (request, metadata, callback) {
    return call.call(this, request, metadata, (error, reply) => {
      management.push(error ? `${method}: ${error.message}` : `${method}: ok`);
      callback(error, reply);
    });
  };
}

const agent = require('skywalking-backend-js').default;
agent.start({
  serviceName: 'l7-node-agent-test',
  serviceInstance: 'instance-1',
  collectorAddress: collector,
  authorization: token,
});
const { emitter } = require('skywalking-backend-js/lib/lib/EventEmitter');
let finished = 0;
emitter.on('segment-finished', () => ++finished);

// Required after the agent, so its http plugin wraps them.
const http = require('http');

function get(port, method, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(method === 'POST' ? '{"order":1}' : undefined);
  });
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  const reply = (code) => {
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(String(code));
  };
  req.resume();
  if (path === '/ok' || path === '/orders') return reply(200);
  if (path === '/fail') return reply(500);
  if (path === '/chain') {
    // The server calls itself: an exit span inside this entry span, and
    // another entry span that refers to it.
    get(server.address().port, 'GET', '/ok').then(() => reply(200), () => reply(502));
    return;
  }
  reply(404);
});

async function main() {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const requests = [
    ['GET', '/ok'],
    ['GET', '/missing'],
    ['GET', '/fail'],
    ['POST', '/orders?id=7'],
    ['GET', '/chain'],
  ];
  const statuses = [];
  for (const [method, path] of requests) statuses.push(await get(port, method, path));
  if (statuses.join(',') !== '200,404,500,200,200') throw new Error(`unexpected statuses ${statuses}`);
  await new Promise((resolve) => server.close(resolve));
  // The agent reports once its channel is ready; flush until every segment
  // it finished has gone out (at most 100 tries).
  for (let i = 0; i < 100 && sent.length < finished; ++i) {
    await agent.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (sent.length !== finished) throw new Error(`agent finished ${finished} segments but sent ${sent.length}`);
  // The agent's heartbeat (reportInstanceProperties and keepAlive) runs
  // every 20 s; run the agent's own timer function once now.
  agent.protocol.heartbeatClient.heartbeatTimer._onTimeout();
  for (let i = 0; i < 100 && management.length < 2; ++i) await new Promise((resolve) => setTimeout(resolve, 50));
  if (management.join(',') !== 'reportInstanceProperties: ok,keepAlive: ok' &&
      management.join(',') !== 'keepAlive: ok,reportInstanceProperties: ok') {
    throw new Error(`management calls: ${management.join(', ') || 'no answer'}`);
  }
  fs.writeFileSync(sentPath, JSON.stringify(sent, null, 1) + '\n');
  console.log(`app.js: ${requests.length} requests, ${sent.length} segments sent, ${management.join(', ')}`);
  process.exit(0);
}

main().catch((e) => {
  console.error(`app.js: ${e.stack || e}`);
  process.exit(1);
});
