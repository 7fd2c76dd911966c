// Each scenario is one client session against nats-server on 127.0.0.1.
// capture.sh runs them one at a time, each under its own capture, so every
// pcap shows one behaviour. Usage: node scenarios.mjs NAME PORT
import { connect, headers, StringCodec } from "nats";

const [name, port] = process.argv.slice(2);
const server = `127.0.0.1:${port}`;
const sc = StringCodec();
const sw8 = "1-MzkxMjE5NmRlMGNmNDFmNGJhYjhhOGE4MTA4ZmMzYTguNjMuMTYyOTQ0NDEzMjk3ODAwMjc=-MzkxMjE5NmRlMGNmNDFmNGJhYjhhOGE4MTA4ZmMzYTguNjMuMTYyOTQ0NDEzMjk3ODAwMjY=-4-c2VydmljZS1h-aW5zdGFuY2UtMQ==-L29yZGVycw==-MTI3LjAuMC4xOjQyMjI=";
const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

async function pubsub() {
  const nc = await connect({ servers: server, name: "pubsub" });
  const sub = nc.subscribe("orders.created", { max: 3 });
  const done = (async () => { for await (const m of sub) sc.decode(m.data); })();
  for (let i = 0; i < 3; i++) nc.publish("orders.created", sc.encode(`order ${i}`));
  await done;
  await nc.flush();
  await nc.close();
}

async function queueGroup() {
  const a = await connect({ servers: server, name: "worker-a" });
  const b = await connect({ servers: server, name: "worker-b" });
  const p = await connect({ servers: server, name: "producer" });
  let seen = 0;
  const handle = (sub) => (async () => { for await (const _ of sub) { if (++seen >= 4) break; } })();
  handle(a.subscribe("jobs.resize", { queue: "workers" }));
  handle(b.subscribe("jobs.resize", { queue: "workers" }));
  await a.flush();
  await b.flush();
  for (let i = 0; i < 4; i++) p.publish("jobs.resize", sc.encode(`job ${i}`));
  await p.flush();
  await new Promise((r) => setTimeout(r, 200));
  await Promise.all([a.close(), b.close(), p.close()]);
}

async function requestReply() {
  const service = await connect({ servers: server, name: "time-service" });
  const sub = service.subscribe("time.now");
  (async () => { for await (const m of sub) m.respond(sc.encode("12:00")); })();
  await service.flush();
  const client = await connect({ servers: server, name: "time-client" });
  for (let i = 0; i < 2; i++) await client.request("time.now", sc.encode("?"), { timeout: 2000 });
  await client.close();
  await service.close();
}

async function traceHeaders() {
  const nc = await connect({ servers: server, name: "traced" });
  const sub = nc.subscribe("payments.>", { max: 2 });
  const done = (async () => { for await (const _ of sub) {} })();
  const h1 = headers();
  h1.append("sw8", sw8);
  const h2 = headers();
  h2.append("traceparent", traceparent);
  h2.append("X-Tenant", "acme");
  nc.publish("payments.authorize", sc.encode("{\"amount\":42}"), { headers: h1 });
  nc.publish("payments.capture", sc.encode("{\"amount\":42}"), { headers: h2 });
  await done;
  await nc.close();
}

async function maxPayload() {
  // The server is started with max_payload 1024; the client library refuses
  // oversize publishes itself, so write the raw protocol line.
  const net = await import("node:net");
  await new Promise((resolve, reject) => {
    const s = net.createConnection({ host: "127.0.0.1", port: Number(port) });
    let buffer = "";
    s.on("data", (d) => {
      buffer += d.toString();
      if (buffer.startsWith("INFO") && !s.sentConnect) {
        s.sentConnect = true;
        s.write('CONNECT {"verbose":true,"pedantic":false,"lang":"raw","version":"1.0.0","protocol":1}\r\nPING\r\n');
        s.write(`PUB big.payload 2048\r\n${"x".repeat(2048)}\r\n`);
      }
      if (buffer.includes("-ERR")) setTimeout(() => s.end(), 50);
    });
    s.on("close", resolve);
    s.on("error", reject);
  });
}

const scenarios = { pubsub, queueGroup, requestReply, traceHeaders, maxPayload };
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
await scenarios[name]();
