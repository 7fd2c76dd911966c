// A scripted Pulsar broker: just enough of the binary protocol for the
// pulsar-flex client to connect, look a topic up, produce, subscribe,
// consume, acknowledge and close (capture.sh). It encodes and decodes with
// the protobuf classes that pulsar-flex ships (generated from
// PulsarApi.proto), so no byte here comes from this project's encoder.
//
//   node broker.js PORT
// Answers CONNECT (CONNECTED, protocol 19), LOOKUP, PARTITIONED_METADATA,
// PRODUCER (an ERROR AuthorizationError for a topic containing "forbidden"),
// SEND (SEND_RECEIPT), SUBSCRIBE, FLOW (delivers what the topic holds as
// MESSAGE, the client's payload part forwarded as stored, checksum
// included), ACK (ACK_RESPONSE when the ack asks for one), UNSUBSCRIBE,
// CLOSE_PRODUCER, CLOSE_CONSUMER, PING; and PINGs the client once after
// CONNECTED, for its PONG.
'use strict';
const net = require('net');
const pb = require('pulsar-flex/src/commands/protocol/pulsar/pulsar_pb');

const T = pb.BaseCommand.Type;
const port = Number(process.argv[2]);
const topics = new Map(); // topic -> [{ entry, part }]
let nextEntry = 0;

function frame(base, part) {
  const command = Buffer.from(base.serializeBinary());
  const extra = part || Buffer.alloc(0);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(4 + command.length + extra.length, 0);
  head.writeUInt32BE(command.length, 4);
  return Buffer.concat([head, command, extra]);
}

function messageId(entry) {
  return new pb.MessageIdData().setLedgerid(7).setEntryid(entry);
}

function serve(sock) {
  let pending = Buffer.alloc(0);
  const producers = new Map();
  const consumers = new Map(); // id -> { topic, permits, next }
  const send = (base, part) => sock.write(frame(base, part));
  const base = (type) => new pb.BaseCommand().setType(type);

  const deliver = (id) => {
    const c = consumers.get(id);
    const held = topics.get(c.topic) || [];
    while (c.permits > 0 && c.next < held.length) {
      const m = held[c.next++];
      c.permits--;
      const msg = new pb.CommandMessage().setConsumerId(id).setMessageId(messageId(m.entry));
      send(base(T.MESSAGE).setMessage(msg), m.part);
    }
  };

  const handle = (bytes) => {
    const commandSize = bytes.readUInt32BE(4);
    const cmd = pb.BaseCommand.deserializeBinary(bytes.subarray(8, 8 + commandSize));
    const part = bytes.subarray(8 + commandSize);
    switch (cmd.getType()) {
      case T.CONNECT: {
        const c = new pb.CommandConnected().setServerVersion('l7conform scripted broker')
          .setProtocolVersion(19).setMaxMessageSize(5 * 1024 * 1024);
        send(base(T.CONNECTED).setConnected(c));
        setTimeout(() => !sock.destroyed && send(base(T.PING).setPing(new pb.CommandPing())), 100);
        break;
      }
      case T.LOOKUP: {
        const q = cmd.getLookuptopic();
        const r = new pb.CommandLookupTopicResponse().setRequestId(q.getRequestId())
          .setBrokerserviceurl(`pulsar://127.0.0.1:${port}`).setResponse(1).setAuthoritative(true);
        send(base(T.LOOKUP_RESPONSE).setLookuptopicresponse(r));
        break;
      }
      case T.PARTITIONED_METADATA: {
        const q = cmd.getPartitionmetadata();
        const r = new pb.CommandPartitionedTopicMetadataResponse().setRequestId(q.getRequestId())
          .setPartitions(0).setResponse(0);
        send(base(T.PARTITIONED_METADATA_RESPONSE).setPartitionmetadataresponse(r));
        break;
      }
      case T.PRODUCER: {
        const q = cmd.getProducer();
        if (q.getTopic().includes('forbidden')) {
          const e = new pb.CommandError().setRequestId(q.getRequestId()).setError(4)
            .setMessage(`not authorized to produce on ${q.getTopic()}`);
          send(base(T.ERROR).setError(e));
          break;
        }
        producers.set(q.getProducerId(), q.getTopic());
        const r = new pb.CommandProducerSuccess().setRequestId(q.getRequestId())
          .setProducerName(`scripted-${q.getProducerId()}`).setLastSequenceId(-1);
        send(base(T.PRODUCER_SUCCESS).setProducerSuccess(r));
        break;
      }
      case T.SEND: {
        const q = cmd.getSend();
        const topic = producers.get(q.getProducerId());
        const entry = nextEntry++;
        if (!topics.has(topic)) topics.set(topic, []);
        topics.get(topic).push({ entry, part: Buffer.from(part) });
        const r = new pb.CommandSendReceipt().setProducerId(q.getProducerId()).setSequenceId(q.getSequenceId())
          .setMessageId(messageId(entry));
        send(base(T.SEND_RECEIPT).setSendReceipt(r));
        break;
      }
      case T.SUBSCRIBE: {
        const q = cmd.getSubscribe();
        consumers.set(q.getConsumerId(), { topic: q.getTopic(), permits: 0, next: 0 });
        send(base(T.SUCCESS).setSuccess(new pb.CommandSuccess().setRequestId(q.getRequestId())));
        break;
      }
      case T.FLOW: {
        const q = cmd.getFlow();
        const c = consumers.get(q.getConsumerId());
        if (c) {
          c.permits += q.getMessagepermits();
          deliver(q.getConsumerId());
        }
        break;
      }
      case T.ACK: {
        const q = cmd.getAck();
        if (q.hasRequestId()) {
          const r = new pb.CommandAckResponse().setConsumerId(q.getConsumerId()).setRequestId(q.getRequestId());
          send(base(T.ACK_RESPONSE).setAckresponse(r));
        }
        break;
      }
      case T.UNSUBSCRIBE:
      case T.CLOSE_CONSUMER:
      case T.CLOSE_PRODUCER: {
        const q = cmd.getUnsubscribe() || cmd.getCloseConsumer() || cmd.getCloseProducer();
        send(base(T.SUCCESS).setSuccess(new pb.CommandSuccess().setRequestId(q.getRequestId())));
        break;
      }
      case T.PING:
        send(base(T.PONG).setPong(new pb.CommandPong()));
        break;
      default:
        break;
    }
  };

  sock.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const total = pending.readUInt32BE(0);
      if (pending.length < 4 + total) break;
      handle(pending.subarray(0, 4 + total));
      pending = pending.subarray(4 + total);
    }
  });
  sock.on('error', () => {});
}

net.createServer(serve).listen(port, '127.0.0.1', () => console.log(`broker listening on ${port}`));
