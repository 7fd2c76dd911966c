// ZMTP conversations (3.0, 3.1) written from ZeroMQ RFC 23 (ZMTP 3.0), 37
// (3.1), 24 (PLAIN), 26 (CURVE), 27 (ZAP) and 28-31 (socket patterns),
// over every socket-type pair and mechanism; expectations follow
// golden/mapping/zmtp.tsv and parsers/zmtp/README.md, restated here from the
// specifications, not taken from the decoder.
#include "synth/zmtp_synth.h"

#include <string>
#include <vector>

#include "synth/zmtp_wire.h"

namespace l7h::synth {
namespace {

using l7::Direction;
using l7::MessageKind;
using l7::ResponseStatus;
using zmtpwire::bigEndian;
using zmtpwire::commandBody;
using zmtpwire::frame;
using zmtpwire::property;
using zmtpwire::shortString;

std::string randomBytes(Rng& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(rng.below(256)));
  return s;
}

std::string text(Rng& rng, size_t n) { return rng.text(n, "abcdefghijklmnopqrstuvwxyz0123456789 .:-_{}\""); }

struct SocketPair {
  const char* client;
  const char* server;
};
// RFC 28 (REQ, REP, DEALER, ROUTER), 29 (PUB, SUB, XPUB, XSUB), 30 (PUSH,
// PULL), 31 (PAIR): every pair those allow, either side binding.
constexpr SocketPair kPairs[] = {
    {"REQ", "REP"},       {"REQ", "ROUTER"},   {"DEALER", "REP"},  {"DEALER", "ROUTER"}, {"DEALER", "DEALER"},
    {"ROUTER", "ROUTER"}, {"REP", "REQ"},      {"REP", "DEALER"},  {"ROUTER", "REQ"},    {"SUB", "PUB"},
    {"XSUB", "PUB"},      {"SUB", "XPUB"},     {"XSUB", "XPUB"},   {"PUB", "SUB"},       {"XPUB", "XSUB"},
    {"PUSH", "PULL"},     {"PULL", "PUSH"},    {"PAIR", "PAIR"},
};

enum class Mechanism { kNull, kPlain, kPlainRefused, kCurve };

bool is(const std::string& type, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (type == n) return true;
  }
  return false;
}

struct Builder {
  ModelConversation& conv;
  std::string client_type, server_type;

  const std::string& typeOf(Direction d) const { return d == Direction::kToServer ? client_type : server_type; }

  ModelMessage& add(Direction dir, std::string bytes, MessageKind kind, std::string type, uint64_t body_size) {
    ModelMessage m;
    m.dir = dir;
    m.kind = kind;
    m.bytes = std::move(bytes);
    m.fields.request_type = std::move(type);
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    const bool request_side = kind == MessageKind::kRequest || (kind == MessageKind::kOneWay && dir == Direction::kToServer);
    (request_side ? m.fields.request_length : m.fields.response_length) = static_cast<int64_t>(body_size);
    conv.messages.push_back(std::move(m));
    return conv.messages.back();
  }
  ModelMessage& command(Direction dir, const std::string& name, const std::string& data) {
    const std::string body = commandBody(name, data);
    return add(dir, frame(false, true, body), MessageKind::kOneWay, "Command " + name, body.size());
  }
  // A message of `parts` frames; its kind by the pattern.
  ModelMessage& message(Direction dir, const std::vector<std::string>& parts, MessageKind kind) {
    std::string bytes;
    uint64_t size = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      bytes += frame(i + 1 < parts.size(), false, parts[i]);
      size += parts[i].size();
    }
    return add(dir, bytes, kind, "Message", size);
  }
  ModelMessage& greeting(Direction dir, const std::string& version, const char* mechanism, bool as_server) {
    const std::string g = zmtpwire::greeting(version == "3.1" ? 1 : 0, mechanism, as_server);
    ModelMessage& m = add(dir, g, MessageKind::kOneWay, "Greeting", 0);
    m.fields.request_length.reset();
    m.fields.response_length.reset();
    m.fields.version = version;
    m.fields.attributes = {{"as_server", as_server ? "1" : "0"}, {"mechanism", mechanism}};
    return m;
  }
  // READY (or PLAIN's INITIATE) with its metadata (RFC 23 §5.3).
  void metadata(Direction dir, const char* name, Rng& rng) {
    const std::string& type = typeOf(dir);
    std::string identity;
    if (rng.below(3) == 0) identity = "peer-" + text(rng, 1 + rng.below(8));
    std::string data = property("Socket-Type", type);
    if (!identity.empty() || rng.below(2) == 0) data += property("Identity", identity);
    if (rng.below(4) == 0) data += property("X-Custom", text(rng, rng.below(20)));
    ModelMessage& m = command(dir, name, data);
    m.fields.attributes.push_back({"socket_type", type});
    if (!identity.empty()) m.fields.attributes.push_back({"identity", identity});
  }
};

std::vector<std::string> randomParts(Rng& rng) {
  std::vector<std::string> parts;
  const size_t n = 1 + (rng.below(4) == 0 ? rng.below(4) : 0);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t pick = rng.below(12);
    const size_t size = pick == 0 ? 256 + rng.below(3000) : pick == 1 ? 0 : 1 + rng.below(60);
    parts.push_back(rng.below(3) == 0 ? randomBytes(rng, size) : text(rng, size));
  }
  return parts;
}

void generateZmtp(Rng& rng, const std::string& version, size_t messages, ModelConversation& conv) {
  conv.endpoints.server.port = 5555;
  const SocketPair& pair = kPairs[rng.below(std::size(kPairs))];
  Builder b{conv, pair.client, pair.server};
  const uint64_t m = rng.below(8);
  const Mechanism mech = m < 4 ? Mechanism::kNull : m < 6 ? Mechanism::kPlain : m == 6 ? Mechanism::kPlainRefused : Mechanism::kCurve;
  const char* mech_name = mech == Mechanism::kNull ? "NULL" : mech == Mechanism::kCurve ? "CURVE" : "PLAIN";
  const bool v31 = version == "3.1";
  constexpr Direction kC = Direction::kToServer, kS = Direction::kToClient;

  // Greetings: the client speaks first; as-server is the PLAIN/CURVE server's.
  b.greeting(kC, version, mech_name, false);
  b.greeting(kS, version, mech_name, mech != Mechanism::kNull);
  switch (mech) {
    case Mechanism::kNull:
      b.metadata(kC, "READY", rng);
      b.metadata(kS, "READY", rng);
      break;
    case Mechanism::kPlain:
    case Mechanism::kPlainRefused: {
      b.command(kC, "HELLO", shortString("user" + text(rng, 3)) + shortString(text(rng, 1 + rng.below(12))));
      if (mech == Mechanism::kPlainRefused) {
        // RFC 27: the ZAP handler's 400 goes back in ERROR; the connection ends.
        ModelMessage& e = b.command(kS, "ERROR", shortString("400"));
        e.fields.response_status = ResponseStatus::kClientError;
        e.fields.response_exception = "400";
        return;
      }
      b.command(kS, "WELCOME", "");
      b.metadata(kC, "INITIATE", rng);
      b.metadata(kS, "READY", rng);
      break;
    }
    case Mechanism::kCurve:
      // RFC 26 §3: sizes of the boxes; their contents are opaque.
      b.command(kC, "HELLO", std::string("\x01\x00", 2) + std::string(72, '\0') + randomBytes(rng, 120));
      b.command(kS, "WELCOME", randomBytes(rng, 160));
      b.command(kC, "INITIATE", randomBytes(rng, 96 + 8 + 32 + 16 + 96 + 16 + rng.below(40)));
      b.command(kS, "READY", randomBytes(rng, 8 + 17 + rng.below(40)));
      break;
  }

  const std::string& ct = b.client_type;
  const std::string& st = b.server_type;
  // Who asks (RFC 28): REQ, or DEALER facing a REP.
  const bool client_asks = ct == "REQ" || (ct == "DEALER" && st == "REP");
  const bool server_asks = st == "REQ" || (st == "DEALER" && ct == "REP");
  const bool client_subscribes = is(ct, {"SUB", "XSUB"});
  const bool server_subscribes = is(st, {"SUB", "XSUB"});
  uint64_t next_nonce = 1;
  while (conv.messages.size() < messages) {
    if (mech == Mechanism::kCurve) {
      // Every frame a MESSAGE command in a data frame (libzmq's form); one
      // record each: its flags, MORE among them, are inside the box.
      const Direction d = rng.below(2) ? kC : kS;
      const std::string data = bigEndian(next_nonce++, 8) + randomBytes(rng, 17 + rng.below(rng.below(6) == 0 ? 2000 : 60));
      std::string body("\x07MESSAGE");
      body.append(data);
      b.add(d, frame(false, false, body), MessageKind::kOneWay, "Command MESSAGE", data.size());
      continue;
    }
    const uint64_t pick = rng.below(10);
    if (pick == 0 && v31) {  // RFC 37 §5.5: PING (TTL, context) and PONG (the context)
      const Direction d = rng.below(2) ? kC : kS;
      const std::string context = text(rng, rng.below(17));
      b.command(d, "PING", bigEndian(rng.below(600), 2) + context);
      b.command(l7::reverse(d), "PONG", context);
      continue;
    }
    if (client_asks || server_asks) {
      const Direction asker = client_asks ? kC : kS;
      std::vector<std::string> request = randomParts(rng);
      request.insert(request.begin(), "");  // the delimiter (RFC 28 §3)
      b.message(asker, request, MessageKind::kRequest);
      const long asked = static_cast<long>(conv.messages.size() - 1);
      std::vector<std::string> reply = randomParts(rng);
      reply.insert(reply.begin(), "");
      b.message(l7::reverse(asker), reply, MessageKind::kResponse).answers = asked;
      continue;
    }
    if ((client_subscribes || server_subscribes) && pick < 4) {
      // RFC 29 §3 / RFC 37 §5.4: a subscription or its cancellation, as a
      // command in 3.1, as a message (1 or 0, then the topic) in 3.0 and
      // from an XSUB application.
      const Direction d = client_subscribes ? kC : kS;
      const bool subscribe = rng.below(3) != 0;
      const std::string topic = rng.below(6) == 0 ? "" : text(rng, 1 + rng.below(20));
      const bool as_command = v31 && !(is(b.typeOf(d), {"XSUB"}) && rng.below(2) == 0);
      ModelMessage& s = as_command ? b.command(d, subscribe ? "SUBSCRIBE" : "CANCEL", topic)
                                   : b.message(d, {std::string(1, subscribe ? '\x01' : '\0') + topic}, MessageKind::kOneWay);
      if (!as_command) s.fields.request_type = subscribe ? "Message SUBSCRIBE" : "Message CANCEL";
      s.fields.request_domain = topic;
      s.fields.request_resource = topic;
      continue;
    }
    // One-way traffic: PUB/XPUB to subscribers, PUSH to PULL, both ways
    // between PAIRs and between DEALERs and ROUTERs.
    Direction d = rng.below(2) ? kC : kS;
    if (client_subscribes || is(ct, {"PULL"})) d = kS;
    if (server_subscribes || is(st, {"PULL"})) d = kC;
    std::vector<std::string> parts = randomParts(rng);
    if (client_subscribes || server_subscribes) {
      // A publisher's message never starts like a subscription is read:
      // only a subscriber's are. Topics are text here.
      parts[0] = "topic." + parts[0];
    }
    b.message(d, parts, MessageKind::kOneWay);
  }
}

bool zmtpRecordShowsVersion(const l7::Record& r, const std::string& version) {
  return r.f.request_type == "Greeting" && r.f.version == version;
}

// Joined mid-stream only at the greetings (the decoder's README: a later
// join misses the socket types, which decide what messages are).
bool zmtpJoinable(const std::string&, const ModelConversation&, size_t first) { return first == 0; }

// Greetings and the commands that carry the socket types and mechanism
// (READY, PLAIN's INITIATE): losing one changes what later messages are.
bool zmtpCarriesState(const ModelConversation& conv, size_t i) {
  const std::string& t = conv.messages[i].fields.request_type;
  return t == "Greeting" || t == "Command READY" || t == "Command INITIATE";
}

}  // namespace

Generator zmtpGenerator() {
  Generator g{"zmtp", "ZMTP", l7::L7Protocol::kZmtp, {"3.1", "3.0"}, generateZmtp, zmtpRecordShowsVersion};
  g.joinable = zmtpJoinable;
  g.carries_state = zmtpCarriesState;
  return g;
}

}  // namespace l7h::synth
