// MQTT conversations (3.1, 3.1.1, 5.0) written from the OASIS
// specifications; expectations follow golden/mapping/mqtt.tsv and
// parsers/mqtt/README.md (codes and their classes restated here from the
// specification, not taken from the decoder).
#include "synth/mqtt_synth.h"

#include <string>

namespace l7h::synth {
namespace {

using l7::Direction;
using l7::MessageKind;
using l7::ResponseStatus;

std::string u16(uint16_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)}; }
std::string str(const std::string& s) { return u16(static_cast<uint16_t>(s.size())) + s; }
std::string varint(uint32_t v) {
  std::string out;
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    if (v) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v);
  return out;
}

struct Builder {
  ModelConversation& conv;
  int level;
  std::string client_id;
  std::string version;

  bool v5() const { return level == 5; }
  ModelMessage& add(Direction dir, uint8_t first, const std::string& body, MessageKind kind, const char* type) {
    ModelMessage m;
    m.dir = dir;
    m.kind = kind;
    m.bytes = std::string(1, static_cast<char>(first)) + varint(static_cast<uint32_t>(body.size())) + body;
    m.fields.request_type = type;
    m.fields.version = version;
    m.fields.request_domain = client_id;
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    const bool request_side = kind == MessageKind::kRequest || (kind == MessageKind::kOneWay && dir == Direction::kToServer);
    (request_side ? m.fields.request_length : m.fields.response_length) = static_cast<int64_t>(body.size());
    conv.messages.push_back(std::move(m));
    return conv.messages.back();
  }
  long last() const { return static_cast<long>(conv.messages.size() - 1); }
  std::string props() const { return v5() ? std::string(1, '\0') : std::string(); }
};

const char* kTopics[] = {"sensors/kitchen/temp", "alerts/fire", "a", "devices/42/state", "x/y/z"};
const char* kFilters[] = {"sensors/+/temp", "alerts/#", "#", "devices/+/state", "a"};

// MQTT 5.0 reason codes used by the model, with their class.
struct Reason {
  uint8_t code;
  const char* name;
  ResponseStatus status;
};
constexpr Reason kConnackV5Errors[] = {{0x86, "Bad User Name or Password", ResponseStatus::kClientError},
                                       {0x87, "Not authorized", ResponseStatus::kClientError},
                                       {0x88, "Server unavailable", ResponseStatus::kServerError},
                                       {0x89, "Server busy", ResponseStatus::kServerError}};
struct ConnackV3 {
  uint8_t code;
  const char* name;
  ResponseStatus status;
};
constexpr ConnackV3 kConnackV3Errors[] = {{1, "unacceptable protocol version", ResponseStatus::kClientError},
                                          {2, "identifier rejected", ResponseStatus::kClientError},
                                          {3, "server unavailable", ResponseStatus::kServerError},
                                          {4, "bad user name or password", ResponseStatus::kClientError},
                                          {5, "not authorized", ResponseStatus::kClientError}};

void generateMqtt(Rng& rng, const std::string& version, size_t messages, ModelConversation& conv) {
  conv.endpoints.server.port = 1883;
  const int level = version == "3.1" ? 3 : version == "5.0" ? 5 : 4;
  Builder b{conv, level, "client-" + std::to_string(rng.below(100000)), version};

  // CONNECT / CONNACK.
  std::string connect = str(level == 3 ? "MQIsdp" : "MQTT") + std::string(1, static_cast<char>(level)) +
                        std::string(1, '\x02') + u16(60) + b.props() + str(b.client_id);
  b.add(Direction::kToServer, 0x10, connect, MessageKind::kRequest, "CONNECT");
  const bool refused = rng.below(8) == 0;
  uint8_t code = 0;
  const char* exception = "";
  ResponseStatus status = ResponseStatus::kOk;
  if (refused) {
    if (b.v5()) {
      const Reason& r = kConnackV5Errors[rng.below(std::size(kConnackV5Errors))];
      code = r.code, exception = r.name, status = r.status;
    } else {
      const ConnackV3& r = kConnackV3Errors[rng.below(std::size(kConnackV3Errors))];
      code = r.code, exception = r.name, status = r.status;
    }
  }
  auto& ack = b.add(Direction::kToClient, 0x20, std::string(1, '\0') + std::string(1, static_cast<char>(code)) + b.props(),
                    MessageKind::kResponse, "CONNACK");
  ack.answers = 0;
  ack.fields.response_code = code;
  ack.fields.response_status = status;
  ack.fields.response_exception = exception;
  if (refused) return;  // the broker closes the connection

  uint16_t next_id[2] = {1, 1};
  auto id = [&](Direction d) {
    uint16_t& n = next_id[static_cast<int>(d)];
    const uint16_t v = n;
    n = static_cast<uint16_t>(n == 65535 ? 1 : n + 1);
    return v;
  };
  while (conv.messages.size() < messages) {
    const uint64_t pick = rng.below(7);
    const Direction from = rng.below(2) ? Direction::kToServer : Direction::kToClient;
    const Direction to = l7::reverse(from);
    const std::string topic = kTopics[rng.below(std::size(kTopics))];
    std::string payload;
    for (size_t i = 0, n = rng.below(rng.below(6) == 0 ? 2000 : 30); i < n; ++i) payload.push_back(static_cast<char>(rng.below(256)));
    switch (pick) {
      case 0: {  // QoS 0, maybe retained
        auto& m = b.add(from, static_cast<uint8_t>(0x30 | rng.below(2)), str(topic) + b.props() + payload,
                        MessageKind::kOneWay, "PUBLISH");
        m.fields.request_resource = m.fields.endpoint = topic;
        break;
      }
      case 1: {  // QoS 1
        const uint16_t pid = id(from);
        auto& m = b.add(from, 0x32, str(topic) + u16(pid) + b.props() + payload, MessageKind::kRequest, "PUBLISH");
        m.fields.request_resource = m.fields.endpoint = topic;
        const long req = b.last();
        b.add(to, 0x40, u16(pid), MessageKind::kResponse, "PUBACK").answers = req;
        break;
      }
      case 2: {  // QoS 2: PUBLISH/PUBREC, then PUBREL/PUBCOMP
        const uint16_t pid = id(from);
        auto& m = b.add(from, 0x34, str(topic) + u16(pid) + b.props() + payload, MessageKind::kRequest, "PUBLISH");
        m.fields.request_resource = m.fields.endpoint = topic;
        long req = b.last();
        b.add(to, 0x50, u16(pid), MessageKind::kResponse, "PUBREC").answers = req;
        b.add(from, 0x62, u16(pid), MessageKind::kRequest, "PUBREL");
        req = b.last();
        b.add(to, 0x70, u16(pid), MessageKind::kResponse, "PUBCOMP").answers = req;
        break;
      }
      case 3: {  // SUBSCRIBE / SUBACK (client → broker)
        const uint16_t pid = id(Direction::kToServer);
        std::string body = u16(pid) + b.props(), joined, codes;
        const size_t n = 1 + rng.below(3);
        bool refused_filter = false;
        for (size_t i = 0; i < n; ++i) {
          const std::string f = kFilters[rng.below(std::size(kFilters))];
          body += str(f) + std::string(1, static_cast<char>(rng.below(3)));
          joined += (i ? "," : "") + f;
          const bool refuse = rng.below(10) == 0;
          refused_filter = refused_filter || refuse;
          codes.push_back(static_cast<char>(refuse ? (b.v5() ? 0x87 : 0x80) : 0x01));
        }
        auto& m = b.add(Direction::kToServer, 0x82, body, MessageKind::kRequest, "SUBSCRIBE");
        m.fields.request_resource = m.fields.endpoint = joined;
        const long req = b.last();
        auto& a = b.add(Direction::kToClient, 0x90, u16(pid) + b.props() + codes, MessageKind::kResponse, "SUBACK");
        a.answers = req;
        if (refused_filter) {
          // 3.1.1: 0x80 "Failure" (the broker refused); 5.0: the reason code.
          a.fields.response_status = b.v5() ? ResponseStatus::kClientError : ResponseStatus::kServerError;
          a.fields.response_exception = b.v5() ? "Not authorized" : "subscription refused";
        }
        break;
      }
      case 4: {  // UNSUBSCRIBE / UNSUBACK
        const uint16_t pid = id(Direction::kToServer);
        const std::string f = kFilters[rng.below(std::size(kFilters))];
        auto& m = b.add(Direction::kToServer, 0xA2, u16(pid) + b.props() + str(f), MessageKind::kRequest, "UNSUBSCRIBE");
        m.fields.request_resource = m.fields.endpoint = f;
        const long req = b.last();
        b.add(Direction::kToClient, 0xB0, u16(pid) + (b.v5() ? b.props() + std::string(1, '\0') : ""),
              MessageKind::kResponse, "UNSUBACK")
            .answers = req;
        break;
      }
      default: {  // PINGREQ / PINGRESP
        b.add(Direction::kToServer, 0xC0, "", MessageKind::kRequest, "PINGREQ");
        const long req = b.last();
        b.add(Direction::kToClient, 0xD0, "", MessageKind::kResponse, "PINGRESP").answers = req;
        break;
      }
    }
  }
  b.add(Direction::kToServer, 0xE0, "", MessageKind::kOneWay, "DISCONNECT");
}

bool mqttRecordShowsVersion(const l7::Record& r, const std::string& version) { return r.f.version == version; }

// Joined mid-stream (parsers/mqtt/README.md): the side the probe does not
// recognize resynchronizes, accepting a packet start only with a chain of
// valid packets after it, and a connection is decoded by 3.1.1 rules, with
// no version and no client id, until a CONNECT is seen. Joined at the
// CONNECT, the records are those of the whole capture; joined later they
// are the same less version and request_domain (mqttJoin). 3.1 and 3.1.1
// join anywhere; 5.0 only at the CONNECT: before one the level is unknown
// and 5.0 properties are not understood (README "Known gaps").
bool mqttJoinable(const std::string& version, const ModelConversation&, size_t first) {
  return first == 0 || version != "5.0";
}

// What a join after the CONNECT leaves: no version, no client id.
void mqttJoin(const ModelConversation&, size_t, ModelConversation& rest) {
  for (ModelMessage& m : rest.messages) {
    m.fields.version.clear();
    m.fields.request_domain.clear();
  }
}

}  // namespace

Generator mqttGenerator() {
  Generator g{"mqtt", "MQTT", l7::L7Protocol::kMqtt, {"3.1.1", "3.1", "5.0"}, generateMqtt, mqttRecordShowsVersion};
  g.joinable = mqttJoinable;
  g.join = mqttJoin;
  return g;
}

}  // namespace l7h::synth
