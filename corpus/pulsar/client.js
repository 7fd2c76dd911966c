// The pulsar-flex client against broker.js (capture.sh): one scenario per
// run. Every message carries traceparent and sw8 properties.
//   node client.js SCENARIO PORT
// produce-consume  a producer sends one message and a batch of three, a
//                  consumer subscribes, receives them, acknowledges each,
//                  unsubscribes; both close
// refused          a producer on a topic the broker refuses (ERROR)
'use strict';
const { Producer, Consumer, logLevel } = require('pulsar-flex');

const [scenario, port] = process.argv.slice(2);
const servers = [`127.0.0.1:${port}`];
const topic = 'persistent://public/default/l7conform-orders';
const trace = (i) => ({
  traceparent: `00-4bf92f3577b34da6a3ce929d0e0e47${String(36 + i).padStart(2, '0')}-00f067aa0ba902b${i}-01`,
  sw8: `1-${Buffer.from(`sw-trace-${i}`).toString('base64')}-${Buffer.from(`segment-${i}`).toString('base64')}-0-` +
    `${Buffer.from('orders').toString('base64')}-${Buffer.from('inst-1').toString('base64')}-` +
    `${Buffer.from('/send').toString('base64')}-${Buffer.from('127.0.0.1:6651').toString('base64')}`,
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function produceConsume() {
  const producer = new Producer({ topic, discoveryServers: servers, producerAccessMode: Producer.ACCESS_MODES.SHARED, logLevel: logLevel.NOTHING });
  await producer.create();
  await producer.sendMessage({ payload: 'single message', properties: { ...trace(0), app: 'l7conform' } });
  await producer.sendBatch({
    messages: [1, 2, 3].map((i) => ({ payload: `batched message ${i}`, properties: trace(i) })),
  });
  const consumer = new Consumer({
    topic, discoveryServers: servers, subscription: 'l7conform-sub', subType: Consumer.SUB_TYPES.EXCLUSIVE,
    consumerName: 'l7conform-consumer', receiveQueueSize: 10, logLevel: logLevel.NOTHING,
  });
  await consumer.subscribe();
  let received = 0;
  await consumer.run({
    onMessage: async ({ ack }) => {
      received++;
      await ack();
    },
    autoAck: false,
  });
  for (let i = 0; i < 50 && received < 4; i++) await sleep(100);
  console.log(`received ${received} messages`);
  await sleep(300);
  await consumer.unsubscribe();
  await producer.close();
  await sleep(200);
}

async function refused() {
  const producer = new Producer({ topic: 'persistent://public/default/forbidden', discoveryServers: servers, producerAccessMode: Producer.ACCESS_MODES.SHARED, logLevel: logLevel.NOTHING });
  try {
    await producer.create();
    console.log('unexpected: the producer was created');
  } catch (e) {
    console.log(`refused as scripted: ${e.message}`);
  }
  await sleep(200);
}

const scenarios = { 'produce-consume': produceConsume, refused };
scenarios[scenario]().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
