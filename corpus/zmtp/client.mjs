// One ZMTP scenario between two real libzmq sockets of the npm package
// zeromq v6 on 127.0.0.1:PORT, for corpus/zmtp/capture.sh (the same
// scenarios and log format as client.py: side, socket type, parts, bytes,
// on-wire, note).
//
//   node client.mjs SCENARIO PORT LOG
import { createRequire } from "node:module";
import { appendFileSync, writeFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const zmq = require("zeromq");

const [scenario, portText, logPath] = process.argv.slice(2);
const addr = `tcp://127.0.0.1:${portText}`;
writeFileSync(logPath, "");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sent(side, type, frames, note = "", onWire = 1) {
  const bufs = frames.map((f) => (Buffer.isBuffer(f) ? f : Buffer.from(f)));
  const bytes = bufs.reduce((n, b) => n + b.length, 0);
  appendFileSync(logPath, `${side}\t${type}\t${bufs.length}\t${bytes}\t${onWire}\t${note}\n`);
  return bufs;
}
async function send(sock, side, type, frames, note = "", onWire = 1) {
  await sock.send(sent(side, type, frames, note, onWire));
}
async function recv(sock) {
  return await Promise.race([sock.receive(), sleep(3000).then(() => { throw new Error(`${scenario}: nothing received`); })]);
}
async function pair(server, client) {
  for (const s of [server, client]) s.linger = 1000;
  await server.bind(addr);
  client.connect(addr);
  return [server, client];
}
async function reqRep(server, client, requests, replyOf) {
  for (const frames of requests) {
    await send(client, "client", "REQ", frames);
    const got = await recv(server);
    await send(server, "server", "REP", replyOf(got));
    await recv(client);
  }
}

// A ZAP handler (RFC 27) in process: PLAIN user alice, password secret.
async function zapHandler() {
  const zap = new zmq.Router();
  await zap.bind("inproc://zeromq.zap.01");
  (async () => {
    for await (const [id, empty, version, requestId, , , , mechanism, user, password] of zap) {
      const ok = mechanism.toString() === "PLAIN" && user.toString() === "alice" && password.toString() === "secret";
      await zap.send([id, empty, version, requestId, ok ? "200" : "400", ok ? "OK" : "bad password", ok ? "alice" : "", ""]);
    }
  })().catch(() => {});
  return zap;
}

const scenarios = {
  async "req-rep"() {
    const [s, c] = await pair(new zmq.Reply(), new zmq.Request());
    await reqRep(s, c, [["Hello"], ["What time is it?"], ["x".repeat(200)]], (got) => ["World: " + got[0].toString().slice(0, 20)]);
    return [s, c];
  },
  async "dealer-router"() {
    const [s, c] = await pair(new zmq.Router(), new zmq.Dealer({ routingId: "dealer-1" }));
    for (let i = 0; i < 3; i++) {
      await send(c, "client", "DEALER", [`job ${i}`]);
      const [id, body] = await recv(s);
      await s.send([id, ...sent("server", "ROUTER", [Buffer.concat([Buffer.from("done "), body])], "after the identity frame ROUTER routes by (not sent)")]);
      await recv(c);
    }
    return [s, c];
  },
  async "pub-sub"() {
    const [s, c] = await pair(new zmq.Publisher(), new zmq.Subscriber());
    c.subscribe("weather.");
    sent("client", "SUB", ["\x01weather."], "subscription (libzmq sends it as SUBSCRIBE in 3.1)");
    c.subscribe("sports.");
    sent("client", "SUB", ["\x01sports."], "subscription");
    await sleep(500);
    for (const topic of ["weather.paris 21C", "sports.football 2-1", "news.none"]) {
      const filtered = topic.startsWith("news");
      await send(s, "server", "PUB", [topic], filtered ? "nobody subscribed: filtered by the publisher" : "", filtered ? 0 : 1);
      if (!filtered) await recv(c);
    }
    c.unsubscribe("sports.");
    sent("client", "SUB", ["\x00sports."], "unsubscription (CANCEL in 3.1)");
    await sleep(500);
    await send(s, "server", "PUB", ["weather.rome 25C"]);
    await recv(c);
    await send(s, "server", "PUB", ["sports.tennis 6-4"], "cancelled: filtered by the publisher", 0);
    await sleep(300);
    return [s, c];
  },
  async "xpub-xsub"() {
    const [s, c] = await pair(new zmq.XPublisher(), new zmq.XSubscriber());
    await sleep(200);
    await send(c, "client", "XSUB", ["\x01alerts"], "subscription written by the application");
    await recv(s);
    await send(c, "client", "XSUB", ["\x01metrics"], "subscription written by the application");
    await recv(s);
    await sleep(200);
    await send(s, "server", "XPUB", ["alerts disk full"]);
    await recv(c);
    await send(s, "server", "XPUB", ["metrics cpu=3"]);
    await recv(c);
    await send(c, "client", "XSUB", ["\x00metrics"], "unsubscription written by the application");
    await recv(s);
    await sleep(200);
    await send(s, "server", "XPUB", ["alerts fan"]);
    await recv(c);
    return [s, c];
  },
  async "push-pull"() {
    const [s, c] = await pair(new zmq.Pull(), new zmq.Push());
    for (let i = 0; i < 4; i++) {
      await send(c, "client", "PUSH", [`task ${i}`.repeat(i + 1)]);
      await recv(s);
    }
    return [s, c];
  },
  async pair() {
    const [s, c] = await pair(new zmq.Pair(), new zmq.Pair());
    for (let i = 0; i < 2; i++) {
      await send(c, "client", "PAIR", [`ping ${i}`]);
      await recv(s);
      await send(s, "server", "PAIR", [`pong ${i}`]);
      await recv(c);
    }
    return [s, c];
  },
  async multipart() {
    const [s, c] = await pair(new zmq.Reply(), new zmq.Request());
    await reqRep(s, c, [["header", "body-part-1", "body-part-2"], ["a", "", "c"]], (got) => ["ack", String(got.length)]);
    return [s, c];
  },
  async large() {
    const [s, c] = await pair(new zmq.Reply(), new zmq.Request());
    const big = Buffer.alloc(1048576);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    await reqRep(s, c, [[big], ["y".repeat(300)]], (got) => ["size", String(got[0].length)]);
    return [s, c];
  },
  async "plain-accepted"() {
    const zap = await zapHandler();
    const [s, c] = await pair(new zmq.Reply({ plainServer: true }),
      new zmq.Request({ plainUsername: "alice", plainPassword: "secret", reconnectInterval: 60000 }));
    await reqRep(s, c, [["authenticated hello"]], () => ["welcome alice"]);
    return [s, c, zap];
  },
  async "plain-refused"() {
    const zap = await zapHandler();
    const [s, c] = await pair(new zmq.Reply({ plainServer: true }),
      new zmq.Request({ plainUsername: "alice", plainPassword: "wrong", reconnectInterval: 60000 }));
    // Refused (ZAP 400): the server sends ERROR; the request is never sent (not logged).
    c.send(["never delivered"]).catch(() => {});
    await sleep(1000);
    c.linger = 0;
    return [s, c, zap];
  },
  async curve() {
    const server = zmq.curveKeyPair();
    const client = zmq.curveKeyPair();
    const [s, c] = await pair(new zmq.Reply({ curveServer: true, curveSecretKey: server.secretKey }),
      new zmq.Request({ curveServerKey: server.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey }));
    await reqRep(s, c, [["secret question"], ["second", "part"]], () => ["secret answer"]);
    return [s, c];
  },
};

const socks = await scenarios[scenario]();
await sleep(200);
// The client first: a client left behind a closed server reconnects.
for (const s of [socks[1], socks[0], ...socks.slice(2)]) s.close();
