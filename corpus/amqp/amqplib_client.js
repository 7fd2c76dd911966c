// Drives rabbitmq-server on 127.0.0.1 with amqplib for corpus/amqp (see capture.sh).
// usage: node amqplib_client.js SCENARIO PORT
'use strict';
const amqp = require('amqplib');

const [scenario, port] = [process.argv[2], Number(process.argv[3])];
const url = (extra = '') => `amqp://guest:guest@127.0.0.1:${port}/${extra}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TRACE = {
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  sw8: '1-MGFmNzY1MTkxNmNkNDNkZDg0NDhlYjIxMWM4MDMxOWM=-YjdhZDZiNzE2OTIwMzMzMQ==-0-bm9kZQ==-aW5zdA==-L3NlbmQ=-MTI3LjAuMC4xOjU2NzI=',
};

async function publishConsume() {
  const c = await amqp.connect(url());
  const ch = await c.createChannel();
  await ch.assertExchange('invoices', 'direct', { durable: false, autoDelete: true });
  await ch.assertQueue('invoices.paid', { autoDelete: false });
  await ch.bindQueue('invoices.paid', 'invoices', 'paid');
  for (let i = 0; i < 3; i++) {
    ch.publish('invoices', 'paid', Buffer.from(`invoice-${i}`), {
      contentType: 'text/plain', messageId: `inv-${i}`, timestamp: 1767225600,
      headers: { ...TRACE, retries: 2, list: [1, 'two', true], meta: { region: 'eu', shard: 7 } },
    });
  }
  let got = 0;
  await new Promise((resolve) => {
    ch.consume('invoices.paid', (msg) => {
      ch.ack(msg);
      if (++got === 3) resolve();
    }, { consumerTag: 'billing' });
  });
  await ch.cancel('billing');
  await ch.unbindQueue('invoices.paid', 'invoices', 'paid');
  await ch.deleteQueue('invoices.paid');
  await ch.deleteExchange('invoices');
  await ch.close();
  await c.close();
}

async function get() {
  const c = await amqp.connect(url());
  const ch = await c.createChannel();
  await ch.assertQueue('tasks', { autoDelete: false });
  ch.sendToQueue('tasks', Buffer.from('task-1'));
  await sleep(100);
  const m = await ch.get('tasks');
  if (m) ch.ack(m);
  await ch.get('tasks');  // empty: Basic.GetEmpty
  await ch.deleteQueue('tasks');
  await c.close();
}

async function nackReject() {
  const c = await amqp.connect(url());
  const ch = await c.createChannel();
  await ch.assertQueue('bounce', { autoDelete: false });
  for (let i = 0; i < 3; i++) ch.sendToQueue('bounce', Buffer.from(`b-${i}`));
  await sleep(100);
  ch.nack(await ch.get('bounce'), false, false);
  ch.reject(await ch.get('bounce'), true);
  const m = await ch.get('bounce');
  ch.nack(m, true, false);
  await ch.recover();
  await ch.deleteQueue('bounce');
  await c.close();
}

async function confirmsReturn() {
  const c = await amqp.connect(url());
  const ch = await c.createConfirmChannel();
  await ch.assertQueue('acked', { autoDelete: true });
  for (let i = 0; i < 3; i++) ch.sendToQueue('acked', Buffer.from(`a-${i}`));
  await ch.waitForConfirms();
  ch.on('return', () => {});
  ch.publish('amq.direct', 'nobody-listens', Buffer.from('lost?'), { mandatory: true });
  await ch.waitForConfirms();
  await ch.deleteQueue('acked');
  await c.close();
}

async function txQos() {
  const c = await amqp.connect(url());
  const ch = await c.createChannel();
  await ch.prefetch(5);
  await ch.assertQueue('journal', { autoDelete: true });
  // amqplib has no tx API: its channel's RPC sends Tx.Select/Commit/Rollback.
  await ch.rpc(90 * 65536 + 10, {}, 90 * 65536 + 11);
  ch.sendToQueue('journal', Buffer.from('entry-1'));
  await ch.rpc(90 * 65536 + 20, {}, 90 * 65536 + 21);
  ch.sendToQueue('journal', Buffer.from('entry-2'));
  await ch.rpc(90 * 65536 + 30, {}, 90 * 65536 + 31);
  await ch.deleteQueue('journal');
  await c.close();
}

async function passive404() {
  const c = await amqp.connect(url());
  const ch = await c.createChannel();
  ch.on('error', () => {});
  try {
    await ch.checkQueue('no-such-queue');
  } catch (e) { /* Channel.Close 404 */ }
  const ch2 = await c.createChannel();
  await ch2.assertQueue('still-works-js', { durable: false, autoDelete: true });
  await c.close();
}

async function refusedLogin() {
  try {
    await amqp.connect(`amqp://guest:wrong-password@127.0.0.1:${port}/`);
  } catch (e) { /* Connection.Close 403 */ }
}

async function largeBodies() {
  const c = await amqp.connect(url('?frameMax=4096'));
  const pub = await c.createChannel();
  await pub.assertQueue('huge-a', { autoDelete: true });
  await pub.assertQueue('huge-b', { autoDelete: true });
  for (let i = 0; i < 3; i++) {
    pub.sendToQueue('huge-a', Buffer.alloc(60000, 65 + i));
    pub.sendToQueue('huge-b', Buffer.alloc(45000, 97 + i));
  }
  await sleep(300);
  const a = await c.createChannel();
  const b = await c.createChannel();
  let got = 0;
  await new Promise((resolve) => {
    const onMsg = (ch) => (msg) => { ch.ack(msg); if (++got === 6) resolve(); };
    a.consume('huge-a', onMsg(a));
    b.consume('huge-b', onMsg(b));
    setTimeout(resolve, 5000);
  });
  await c.close();
}

const SCENARIOS = {
  'publish-consume': publishConsume, get, 'nack-reject': nackReject, 'confirms-return': confirmsReturn,
  'tx-qos': txQos, 'passive-404': passive404, 'refused-login': refusedLogin, 'large-bodies': largeBodies,
};
SCENARIOS[scenario]().then(() => sleep(200)).catch((e) => { console.error(e); process.exitCode = 1; });
