// MQTT.js scenarios for corpus/mqtt/capture.sh, each bounded in time:
//   node scenarios.js aedes-broker PORT         run an aedes broker on 127.0.0.1:PORT
//   node scenarios.js v5-refused-by-aedes PORT  a 5.0 CONNECT that aedes answers in the 3.1.1 form
//   node scenarios.js v5-aliases PORT           5.0 topic aliases and trace context in user properties
//   node scenarios.js v311-session PORT         a 3.1.1 session from MQTT.js
// Each client scenario prints one line per message it sent, for review.
'use strict';
const net = require('net');
const mqtt = require('mqtt');

const [scenario, portText] = process.argv.slice(2);
const port = Number(portText);
const url = `mqtt://127.0.0.1:${port}`;
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const sw8 = '1-MWEyYjNjNGQ1ZTZmNzA4MQ==-MWEyYjNjNGQ1ZTZmNzA4Mg==-3-bXEtc2VydmljZQ==-bXEtaW5zdGFuY2U=-L2FsaWFz-MTI3LjAuMC4xOjE4ODM=';

function log(line) { process.stdout.write(line + '\n'); }
function fail(err) { console.error(String(err && err.stack || err)); process.exit(1); }
setTimeout(() => fail(`scenario ${scenario} did not finish in 20 s`), 20000).unref();

async function connect(options) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

async function main() {
  switch (scenario) {
    case 'aedes-broker': {
      const { Aedes } = require('aedes');
      const broker = await Aedes.createBroker();
      const server = net.createServer(broker.handle);
      server.listen(port, '127.0.0.1', () => log(`aedes listening on ${port}`));
      process.on('SIGTERM', () => { server.close(); broker.close(() => process.exit(0)); });
      return;
    }
    case 'v5-refused-by-aedes': {
      try {
        const c = await connect({ protocolVersion: 5, clientId: 'mqttjs-v5' });
        log('unexpected: connected');
        c.end();
      } catch (err) {
        log(`CONNECT v5 refused: ${err.message}`);
      }
      return;
    }
    case 'v311-session': {
      const c = await connect({ protocolVersion: 4, clientId: 'mqttjs-311' });
      log('CONNECT 3.1.1');
      await c.subscribeAsync('js/+', { qos: 1 });
      log('SUBSCRIBE js/+ qos 1');
      const got = new Promise((resolve) => c.on('message', resolve));
      await c.publishAsync('js/hello', 'hi', { qos: 1 });
      log('PUBLISH js/hello qos 1');
      await got;
      await c.endAsync();
      log('DISCONNECT');
      return;
    }
    case 'v5-aliases': {
      // The client may use up to 10 aliases (mosquitto's CONNACK says how
      // many); MQTT.js assigns them itself and sends empty topics after.
      const c = await connect({
        protocolVersion: 5, clientId: 'mqttjs-alias', autoAssignTopicAlias: true,
        properties: { topicAliasMaximum: 10 },
      });
      log('CONNECT 5.0 topicAliasMaximum 10');
      await c.subscribeAsync('alias/#', { qos: 1 });
      log('SUBSCRIBE alias/# qos 1');
      let received = 0;
      const all = new Promise((resolve) => c.on('message', () => { if (++received === 4) resolve(); }));
      for (let i = 0; i < 2; ++i) {
        for (const topic of ['alias/temperature', 'alias/humidity']) {
          await c.publishAsync(topic, `v${i}`, {
            qos: 1,
            properties: { userProperties: { traceparent, sw8 } },
          });
          log(`PUBLISH ${topic} qos 1 (alias ${i === 0 ? 'set' : 'used'}) with traceparent and sw8`);
        }
      }
      await all;
      await c.endAsync();
      log('DISCONNECT');
      return;
    }
    default:
      fail(`unknown scenario ${scenario}`);
  }
}
main().catch(fail);
