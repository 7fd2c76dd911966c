// kafkajs against librdkafka's mock cluster, for corpus/kafka/capture.sh:
//   node scenarios.js BOOTSTRAP
// Produces to the three partitions of `audit` with traceparent and sw8
// headers, then consumes them in a group after seeking partition 2 past its
// end (the broker answers OFFSET_OUT_OF_RANGE for that partition). Prints
// one line per message sent; bounded to 30 s.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap] = process.argv.slice(2);
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
function log(line) { process.stdout.write(line + '\n'); }
function fail(err) { console.error(String(err && err.stack || err)); process.exit(1); }
setTimeout(() => fail('kafkajs scenario did not finish in 30 s'), 30000).unref();

async function main() {
  const kafka = new Kafka({ clientId: 'kafkajs-audit', brokers: [bootstrap], logLevel: logLevel.NOTHING,
                            retry: { retries: 5, initialRetryTime: 100 } });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let partition = 0; partition < 3; ++partition) {
    await producer.send({
      topic: 'audit', acks: -1,
      messages: [{ partition, key: `k${partition}`, value: `event ${partition}`, headers: { traceparent } }],
    });
    log(`Produce audit-${partition} with traceparent`);
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'kafkajs-auditors', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'audit', fromBeginning: true });
  let seen = 0;
  const done = new Promise((resolve) => {
    consumer.run({
      eachMessage: async ({ partition }) => {
        log(`consumed audit-${partition}`);
        if (++seen === 3) resolve();
      },
    });
  });
  consumer.seek({ topic: 'audit', partition: 2, offset: '1000' });
  log('seek audit-2 to 1000 (past its end)');
  await done;
  await consumer.disconnect();
  log('done');
}
main().catch(fail);
