// Pulsar conversations from the binary protocol page and PulsarApi.proto,
// every BaseCommand type included; expectations follow
// golden/mapping/pulsar.tsv and parsers/pulsar/README.md.
#include "synth/pulsar_synth.h"

#include <map>
#include <vector>
#include <string>

#include "synth/pulsar_wire.h"
#include "synth/trace_headers.h"

namespace l7h::synth {
namespace {

namespace w = pulsarwire;
using l7::Direction;
using l7::MessageKind;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;

constexpr const char* kTopics[] = {"persistent://public/default/orders", "persistent://tenant-a/ns/payments",
                                   "non-persistent://public/default/t", "my-topic"};
constexpr const char* kProxies[] = {"", "", "broker-1.pulsar:6650", "10.0.0.7:6650"};

std::string lastSegment(const std::string& topic) { return topic.substr(topic.rfind('/') + 1); }

struct Builder {
  ModelConversation& conv;
  std::string version, domain;
  uint64_t request_id = 0;
  std::map<uint64_t, std::pair<std::string, size_t>> producers, consumers;  // id -> topic, index taught
  // Exchanges paired by order (PINGs of each side, AUTH_CHALLENGE): an
  // exchange depends on every earlier message of its lane, since losing one
  // shifts the pairing of those after it.
  std::map<int, std::vector<size_t>> by_order;
  void inOrder(int lane) {
    std::vector<size_t>& earlier = by_order[lane];
    ModelMessage& request = conv.messages[conv.messages.size() - 2];
    request.depends_on.insert(request.depends_on.end(), earlier.begin(), earlier.end());
    earlier.push_back(conv.messages.size() - 2);
    earlier.push_back(conv.messages.size() - 1);
  }

  ModelMessage& add(Direction dir, std::string bytes, MessageKind kind, std::string type) {
    ModelMessage m;
    m.dir = dir;
    m.kind = kind;
    m.fields.request_type = std::move(type);
    m.fields.version = version;
    m.fields.request_domain = domain;
    m.fields.response_status = kind == MessageKind::kRequest ? l7::ResponseStatus::kUnknown : l7::ResponseStatus::kOk;
    (kind == MessageKind::kResponse ? m.fields.response_length : m.fields.request_length) =
        static_cast<int64_t>(bytes.size() - 4);
    m.bytes = std::move(bytes);
    conv.messages.push_back(std::move(m));
    return conv.messages.back();
  }
  long last() const { return static_cast<long>(conv.messages.size() - 1); }
  ModelMessage& answer(Direction dir, std::string bytes, std::string type, long request) {
    ModelMessage& m = add(dir, std::move(bytes), MessageKind::kResponse, std::move(type));
    m.answers = request;
    return m;
  }
  static void topic(ModelMessage& m, const std::string& t) {
    m.fields.endpoint = t;
    m.fields.request_resource = lastSegment(t);
  }
  // A producer's or consumer's command: its topic if the model created it.
  void owned(ModelMessage& m, const std::map<uint64_t, std::pair<std::string, size_t>>& ids, uint64_t id) {
    const auto it = ids.find(id);
    if (it == ids.end()) return;
    topic(m, it->second.first);
    m.depends_on.push_back(it->second.second);
  }
  static void error(ModelMessage& m, uint64_t code, const std::string& text) {
    m.fields.response_status = l7::ResponseStatus::kServerError;
    m.fields.response_code = static_cast<int64_t>(code);
    m.fields.response_exception = text;
  }
};

uint64_t pick(Rng& rng, const std::map<uint64_t, std::pair<std::string, size_t>>& ids) {
  if (ids.empty() || rng.below(8) == 0) return (uint64_t{1} << 40) + rng.below(1000);  // never created here
  auto it = ids.begin();
  std::advance(it, static_cast<long>(rng.below(ids.size())));
  return it->first;
}

std::string errorText(Rng& rng) {
  constexpr const char* kTexts[] = {"Topic not found", "not authorized", "Checksum failed", "slow down"};
  return kTexts[rng.below(std::size(kTexts))];
}

// A message id and its "ledger:entry:partition:batch" text.
std::pair<std::string, std::string> messageId(Rng& rng) {
  const uint64_t ledger = rng.below(100000), entry = rng.below(100000);
  const int64_t partition = rng.below(3) == 0 ? static_cast<int64_t>(rng.below(16)) : -1;
  const int64_t batch = rng.below(3) == 0 ? static_cast<int64_t>(rng.below(100)) : -1;
  return {w::messageId(ledger, entry, partition, batch), std::to_string(ledger) + ":" + std::to_string(entry) + ":" +
                                                            std::to_string(partition) + ":" + std::to_string(batch)};
}

// MessageMetadata and payload, maybe a batch, with a random trace context in
// the metadata's properties or a batch entry's.
struct Payload {
  std::string metadata, data;
  int batch = 0;
};
Payload payload(Rng& rng, uint64_t sequence_id, ModelMessage* m) {
  const SynthTrace t = randomTrace(rng, /*any_order=*/false);
  w::Properties props(t.headers.begin(), t.headers.end());
  if (rng.below(2)) props.insert(props.begin() + static_cast<long>(rng.below(props.size() + 1)), {"app", "synth"});
  Payload p;
  if (rng.below(3) == 0) {
    p.batch = 1 + static_cast<int>(rng.below(4));
    const size_t traced = rng.below(static_cast<uint64_t>(p.batch));
    for (int i = 0; i < p.batch; ++i) {
      p.data += w::batchEntry(static_cast<size_t>(i) == traced ? props : w::Properties{{"n", std::to_string(i)}},
                              std::string(rng.below(50), 'b'));
    }
    p.metadata = w::metadata("synth-producer", sequence_id, 1767225600000 + rng.below(1000), {}, p.batch);
  } else {
    p.data = std::string(rng.below(8) == 0 ? 3000 : rng.below(60), 'p');
    p.metadata = w::metadata("synth-producer", sequence_id, 1767225600000 + rng.below(1000), props);
  }
  m->fields.trace_id = t.trace_id;
  m->fields.trace_id_2 = t.trace_id_2;
  m->fields.span_id = t.span_id;
  return p;
}

// PRODUCER or SUBSCRIBE: `id` names `topic` from here on (the decoder
// learns it from the request, refused or not), answered by `success` or,
// one time in five, an ERROR with `code`.
void creates(Rng& rng, Builder& b, std::map<uint64_t, std::pair<std::string, size_t>>& ids, uint64_t id, uint64_t rid,
             const std::string& topic, std::string request, const char* type, uint64_t code, std::string success,
             const char* success_type) {
  ModelMessage& q = b.add(kC2S, std::move(request), MessageKind::kRequest, type);
  Builder::topic(q, topic);
  q.fields.request_id = static_cast<int64_t>(rid);
  ids[id] = {topic, static_cast<size_t>(b.last())};
  const long at = b.last();
  if (rng.below(5) == 0) {
    const std::string text = errorText(rng);
    ModelMessage& a = b.answer(kS2C, w::error(rid, static_cast<uint32_t>(code), text), "ERROR", at);
    a.fields.request_id = static_cast<int64_t>(rid);
    Builder::error(a, code, text);
  } else {
    b.answer(kS2C, std::move(success), success_type, at).fields.request_id = static_cast<int64_t>(rid);
  }
}

void producerCommands(Rng& rng, Builder& b, uint64_t& next_producer, uint64_t& sequence) {
  switch (rng.below(4)) {
    case 0: {  // PRODUCER -> PRODUCER_SUCCESS or ERROR
      const std::string t = kTopics[rng.below(std::size(kTopics))];
      const uint64_t id = next_producer++, rid = b.request_id++;
      creates(rng, b, b.producers, id, rid, t, w::producer(t, id, rid), "PRODUCER", 16,
              w::producerSuccess(rid, "synth-" + std::to_string(id)), "PRODUCER_SUCCESS");
      return;
    }
    case 1:
    case 2: {  // SEND -> SEND_RECEIPT or SEND_ERROR
      const uint64_t id = pick(rng, b.producers), seq = sequence;
      sequence += 1 + rng.below(70000);
      ModelMessage& q = b.add(kC2S, "", MessageKind::kRequest, "SEND");
      const Payload p = payload(rng, seq, &q);
      std::string sub = w::num(1, id) + w::num(2, seq);
      if (p.batch > 0) sub += w::num(3, static_cast<uint64_t>(p.batch));
      if (rng.below(6) == 0) {
        const auto [bytes, text] = messageId(rng);
        sub += w::len(9, bytes);
        q.fields.x_request_id_0 = text;
      }
      q.bytes = w::payloadFrame(w::base(6, sub), p.metadata, p.data);
      q.fields.request_length = static_cast<int64_t>(q.bytes.size() - 4);
      const int64_t rid = static_cast<int64_t>((id & 0xFFFF) << 16 | (seq & 0xFFFF));
      q.fields.request_id = rid;
      b.owned(q, b.producers, id);
      const long at = b.last();
      if (rng.below(5) == 0) {
        const std::string text = errorText(rng);
        ModelMessage& a = b.answer(kS2C, w::sendError(id, seq, 9, text), "SEND_ERROR", at);
        Builder::error(a, 9, text);
        a.fields.request_id = rid;
        b.owned(a, b.producers, id);
      } else {
        const auto [bytes, text] = messageId(rng);
        ModelMessage& a = b.answer(kS2C, w::frame(7, w::num(1, id) + w::num(2, seq) + w::len(3, bytes)), "SEND_RECEIPT", at);
        a.fields.request_id = rid;
        a.fields.x_request_id_1 = text;
        b.owned(a, b.producers, id);
      }
      return;
    }
    default: {  // CLOSE_PRODUCER -> SUCCESS
      const uint64_t id = pick(rng, b.producers), rid = b.request_id++;
      ModelMessage& q = b.add(kC2S, w::frame(15, w::num(1, id) + w::num(2, rid)), MessageKind::kRequest, "CLOSE_PRODUCER");
      q.fields.request_id = static_cast<int64_t>(rid);
      b.owned(q, b.producers, id);
      b.answer(kS2C, w::success(rid), "SUCCESS", b.last()).fields.request_id = static_cast<int64_t>(rid);
      return;
    }
  }
}

void consumerCommands(Rng& rng, Builder& b, uint64_t& next_consumer) {
  const uint64_t choice = rng.below(12);
  if (choice == 0) {  // SUBSCRIBE -> SUCCESS or ERROR
    const std::string t = kTopics[rng.below(std::size(kTopics))];
    const uint64_t id = next_consumer++, rid = b.request_id++;
    creates(rng, b, b.consumers, id, rid, t, w::subscribe(t, "sub-" + std::to_string(id), id, rid), "SUBSCRIBE", 12,
            w::success(rid), "SUCCESS");
    return;
  }
  const uint64_t id = pick(rng, b.consumers);
  if (choice <= 6) {  // one-way consumer traffic
    switch (choice) {
      case 1: b.owned(b.add(kC2S, w::frame(11, w::num(1, id) + w::num(2, 1 + rng.below(1000))), MessageKind::kOneWay, "FLOW"), b.consumers, id); return;
      case 2: {
        ModelMessage& m = b.add(kS2C, "", MessageKind::kOneWay, "MESSAGE");
        const Payload p = payload(rng, rng.below(1000), &m);
        const auto [bytes, text] = messageId(rng);
        const std::string broker_entry = rng.below(3) == 0 ? w::num(1, 1767225600000 + rng.below(99)) + w::num(2, rng.below(99)) : "";
        m.bytes = w::payloadFrame(w::base(9, w::num(1, id) + w::len(2, bytes)), p.metadata, p.data, broker_entry,
                                  !broker_entry.empty());
        m.fields.request_length = static_cast<int64_t>(m.bytes.size() - 4);
        m.fields.x_request_id_0 = text;
        b.owned(m, b.consumers, id);
        return;
      }
      case 3: {
        const auto [bytes, text] = messageId(rng);
        std::string sub = w::num(1, id) + w::num(2, rng.below(2)) + w::len(3, bytes);
        const bool with_id = rng.below(2) == 0;
        const uint64_t rid = with_id ? b.request_id++ : 0;
        if (with_id) sub += w::num(8, rid);
        ModelMessage& m = b.add(kC2S, w::frame(10, sub), MessageKind::kOneWay, "ACK");
        m.fields.x_request_id_0 = text;
        if (with_id) m.fields.request_id = static_cast<int64_t>(rid);
        b.owned(m, b.consumers, id);
        if (with_id) {
          const bool failed = rng.below(3) == 0;
          const std::string text2 = errorText(rng);
          ModelMessage& r = b.add(kS2C, w::frame(38, w::num(1, id) + (failed ? w::num(4, 23) + w::len(5, text2) : "") + w::num(6, rid)),
                                  MessageKind::kOneWay, "ACK_RESPONSE");
          r.fields.request_id = static_cast<int64_t>(rid);
          if (failed) Builder::error(r, 23, text2);
          b.owned(r, b.consumers, id);
        }
        return;
      }
      case 4: {
        const auto [bytes, text] = messageId(rng);
        b.owned(b.add(kC2S, w::frame(20, w::num(1, id) + w::len(2, bytes)), MessageKind::kOneWay, "REDELIVER_UNACKNOWLEDGED_MESSAGES"), b.consumers, id);
        return;
      }
      case 5: b.owned(b.add(kS2C, w::frame(27, w::num(1, id)), MessageKind::kOneWay, "REACHED_END_OF_TOPIC"), b.consumers, id); return;
      default: b.owned(b.add(kS2C, w::frame(31, w::num(1, id) + w::num(2, rng.below(2))), MessageKind::kOneWay, "ACTIVE_CONSUMER_CHANGE"), b.consumers, id); return;
    }
  }
  // Requests of a consumer: UNSUBSCRIBE, CLOSE_CONSUMER, SEEK -> SUCCESS;
  // GET_LAST_MESSAGE_ID, CONSUMER_STATS -> their responses.
  const uint64_t rid = b.request_id++;
  const int64_t rid64 = static_cast<int64_t>(rid);
  auto request = [&](uint32_t type, const char* name, std::string sub) {
    ModelMessage& q = b.add(kC2S, w::frame(type, sub), MessageKind::kRequest, name);
    q.fields.request_id = rid64;
    b.owned(q, b.consumers, id);
    return b.last();
  };
  switch (choice) {
    case 7: b.answer(kS2C, w::success(rid), "SUCCESS", request(12, "UNSUBSCRIBE", w::num(1, id) + w::num(2, rid))).fields.request_id = rid64; return;
    case 8: b.answer(kS2C, w::success(rid), "SUCCESS", request(16, "CLOSE_CONSUMER", w::num(1, id) + w::num(2, rid))).fields.request_id = rid64; return;
    case 9: b.answer(kS2C, w::success(rid), "SUCCESS", request(28, "SEEK", w::num(1, id) + w::num(2, rid) + w::num(4, 1767225600000))).fields.request_id = rid64; return;
    case 10: {
      const long at = request(29, "GET_LAST_MESSAGE_ID", w::num(1, id) + w::num(2, rid));
      b.answer(kS2C, w::frame(30, w::len(1, messageId(rng).first) + w::num(2, rid)), "GET_LAST_MESSAGE_ID_RESPONSE", at).fields.request_id = rid64;
      return;
    }
    default: {
      const long at = request(25, "CONSUMER_STATS", w::num(1, rid) + w::num(4, id));
      const bool failed = rng.below(3) == 0;
      const std::string text = errorText(rng);
      ModelMessage& a = b.answer(kS2C, w::frame(26, w::num(1, rid) + (failed ? w::num(2, 13) + w::len(3, text) : w::len(7, "c"))),
                                 "CONSUMER_STATS_RESPONSE", at);
      a.fields.request_id = rid64;
      if (failed) Builder::error(a, 13, text);
      return;
    }
  }
}

// Requests that name a topic, a namespace or a transaction, answered by
// their response (maybe with a ServerError).
void otherRequests(Rng& rng, Builder& b) {
  struct Exchange {
    uint32_t type;
    const char* name;
    const char* response;
    uint32_t rid_field, topic_field;        // in the request
    uint32_t resp_rid, resp_error, resp_msg;  // in the response
  };
  static constexpr Exchange kExchanges[] = {
      {21, "PARTITIONED_METADATA", "PARTITIONED_METADATA_RESPONSE", 2, 1, 2, 4, 5},
      {23, "LOOKUP", "LOOKUP_RESPONSE", 2, 1, 4, 6, 7},
      {34, "GET_SCHEMA", "GET_SCHEMA_RESPONSE", 1, 2, 1, 2, 3},
      {39, "GET_OR_CREATE_SCHEMA", "GET_OR_CREATE_SCHEMA_RESPONSE", 1, 2, 1, 2, 3},
      {32, "GET_TOPICS_OF_NAMESPACE", "GET_TOPICS_OF_NAMESPACE_RESPONSE", 1, 0, 1, 0, 0},
      {50, "NEW_TXN", "NEW_TXN_RESPONSE", 1, 0, 1, 4, 5},
      {52, "ADD_PARTITION_TO_TXN", "ADD_PARTITION_TO_TXN_RESPONSE", 1, 0, 1, 4, 5},
      {54, "ADD_SUBSCRIPTION_TO_TXN", "ADD_SUBSCRIPTION_TO_TXN_RESPONSE", 1, 0, 1, 4, 5},
      {56, "END_TXN", "END_TXN_RESPONSE", 1, 0, 1, 4, 5},
      {58, "END_TXN_ON_PARTITION", "END_TXN_ON_PARTITION_RESPONSE", 1, 4, 1, 4, 5},
      {60, "END_TXN_ON_SUBSCRIPTION", "END_TXN_ON_SUBSCRIPTION_RESPONSE", 1, 0, 1, 4, 5},
      {62, "TC_CLIENT_CONNECT_REQUEST", "TC_CLIENT_CONNECT_RESPONSE", 1, 0, 1, 2, 3},
  };
  const Exchange& e = kExchanges[rng.below(std::size(kExchanges))];
  const uint64_t rid = b.request_id++;
  const int64_t rid64 = static_cast<int64_t>(rid);
  const std::string t = kTopics[rng.below(std::size(kTopics))];
  std::string sub = w::num(e.rid_field, rid);
  if (e.topic_field != 0) sub += w::len(e.topic_field, t);
  if (e.type == 39) sub += w::len(3, w::len(1, "s") + w::len(3, "{}") + w::num(4, 2));
  if (e.type == 32) sub += w::len(2, "public/default");
  if (e.type == 62) sub += w::num(2, rng.below(4));
  if (e.type == 52) sub += w::len(4, t);
  ModelMessage& q = b.add(kC2S, w::frame(e.type, sub), MessageKind::kRequest, e.name);
  q.fields.request_id = rid64;
  if (e.topic_field != 0) Builder::topic(q, t);
  const long at = b.last();
  std::string answer = w::num(e.resp_rid, rid);
  if (e.type == 21) answer += w::num(1, rng.below(4));
  const bool failed = e.resp_error != 0 && rng.below(3) == 0;
  const std::string text = errorText(rng);
  if (failed) answer += w::num(e.resp_error, 6) + w::len(e.resp_msg, text);
  ModelMessage& a = b.answer(kS2C, w::frame(e.type + 1, answer), e.response, at);
  a.fields.request_id = rid64;
  if (failed) Builder::error(a, 6, text);
}

void connectionCommands(Rng& rng, Builder& b) {
  switch (rng.below(8)) {
    case 0:
    case 1: {  // PING from either side, the other's PONG
      const bool client = rng.below(2) == 0;
      b.add(client ? kC2S : kS2C, w::ping(), MessageKind::kRequest, "PING");
      b.answer(client ? kS2C : kC2S, w::pong(), "PONG", b.last());
      b.inOrder(client ? 0 : 1);
      return;
    }
    case 2: {  // the broker's AUTH_CHALLENGE, the client's AUTH_RESPONSE
      b.add(kS2C, w::frame(36, w::len(1, "Pulsar Server") + w::len(2, w::len(1, "token") + w::len(2, "c"))),
            MessageKind::kRequest, "AUTH_CHALLENGE");
      b.answer(kC2S, w::frame(37, w::len(1, "synth") + w::len(2, w::len(1, "token") + w::len(2, "r"))), "AUTH_RESPONSE", b.last());
      b.inOrder(2);
      return;
    }
    case 3: {  // topic-list watching: all one-way (the table)
      const uint64_t rid = b.request_id++, watcher = rng.below(10);
      b.add(kC2S, w::frame(64, w::num(1, rid) + w::num(2, watcher) + w::len(3, "public/default") + w::len(4, "orders.*")),
            MessageKind::kOneWay, "WATCH_TOPIC_LIST").fields.request_id = static_cast<int64_t>(rid);
      b.add(kS2C, w::frame(65, w::num(1, rid) + w::num(2, watcher) + w::len(3, kTopics[0]) + w::len(4, "h1")),
            MessageKind::kOneWay, "WATCH_TOPIC_LIST_SUCCESS").fields.request_id = static_cast<int64_t>(rid);
      b.add(kS2C, w::frame(66, w::num(1, watcher) + w::len(2, kTopics[1]) + w::len(4, "h2")), MessageKind::kOneWay,
            "WATCH_TOPIC_UPDATE");
      const uint64_t close_rid = b.request_id++;
      b.add(kC2S, w::frame(67, w::num(1, close_rid) + w::num(2, watcher)), MessageKind::kOneWay, "WATCH_TOPIC_LIST_CLOSE")
          .fields.request_id = static_cast<int64_t>(close_rid);
      return;
    }
    case 4: {  // TOPIC_MIGRATED for a producer or a consumer
      const bool producer = rng.below(2) == 0;
      const uint64_t id = pick(rng, producer ? b.producers : b.consumers);
      ModelMessage& m = b.add(kS2C, w::frame(68, w::num(1, id) + w::num(2, producer ? 0 : 1) + w::len(3, "pulsar://b2:6650")),
                              MessageKind::kOneWay, "TOPIC_MIGRATED");
      b.owned(m, producer ? b.producers : b.consumers, id);
      return;
    }
    default: {  // a type this protocol version does not define: named by number
      const uint32_t type = 69 + static_cast<uint32_t>(rng.below(50));
      ModelMessage& m = b.add(rng.below(2) ? kC2S : kS2C, w::frame(type, w::num(1, rng.below(100))), MessageKind::kOneWay,
                              "TYPE_" + std::to_string(type));
      m.fields.response_status = l7::ResponseStatus::kUnknown;
      return;
    }
  }
}

void generatePulsar(Rng& rng, const std::string& version, size_t messages, ModelConversation& conv) {
  conv.endpoints.server.port = 6650;
  const uint32_t client_version = static_cast<uint32_t>(std::stoul(version));
  // The broker is as new or newer: the connection speaks the client's version.
  const uint32_t server_version = client_version + static_cast<uint32_t>(rng.below(3));
  Builder b{conv, version, kProxies[rng.below(std::size(kProxies))]};
  b.request_id = rng.below(2) ? 0 : rng.next() >> 1;
  b.add(kC2S, w::connect(client_version, b.domain), MessageKind::kRequest, "CONNECT");
  b.answer(kS2C, w::connected(server_version), "CONNECTED", 0);
  uint64_t next_producer = rng.below(2) ? 0 : 65536 * rng.below(4), next_consumer = 0, sequence = rng.below(3) ? 0 : rng.next() >> 8;
  while (conv.messages.size() < messages) {
    switch (rng.below(4)) {
      case 0: producerCommands(rng, b, next_producer, sequence); break;
      case 1: consumerCommands(rng, b, next_consumer); break;
      case 2: otherRequests(rng, b); break;
      default: connectionCommands(rng, b); break;
    }
  }
}

bool pulsarRecordShowsVersion(const l7::Record& r, const std::string& version) { return r.f.version == version; }

// Joined mid-stream (parsers/pulsar/README.md): every frame after the
// boundary decodes (the shared engine finds the first), but the versions
// and the proxy url of the dropped CONNECT/CONNECTED are unknown, and so is
// the topic of a producer or consumer created before the join. A join right
// after CONNECT would leave CONNECTED's version alone: not claimed.
bool pulsarJoinable(const std::string&, const ModelConversation&, size_t first) { return first != 1; }

void joinPulsar(const ModelConversation& whole, size_t first, ModelConversation& rest) {
  for (size_t j = 0; j < rest.messages.size(); ++j) {
    ModelMessage& m = rest.messages[j];
    m.fields.version.clear();
    m.fields.request_domain.clear();
    for (size_t taught : whole.messages[first + j].depends_on) {
      if (taught < first) {
        m.fields.endpoint.clear();
        m.fields.request_resource.clear();
      }
    }
  }
}

// CONNECT (versions, proxy url) and CONNECTED (version, frame cap).
bool pulsarCarriesState(const ModelConversation&, size_t i) { return i <= 1; }

}  // namespace

Generator pulsarGenerator() {
  Generator g{"pulsar", "Pulsar", l7::L7Protocol::kPulsar, {"21", "20", "19", "17"}, generatePulsar, pulsarRecordShowsVersion};
  g.pairs_by_id = true;
  g.joinable = pulsarJoinable;
  g.join = joinPulsar;
  g.carries_state = pulsarCarriesState;
  return g;
}

}  // namespace l7h::synth
