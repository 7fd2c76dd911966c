// NATS conversations from the client protocol specification
// (docs.nats.io/reference/reference-protocols/nats-protocol) and the NATS
// mapping table; expectations follow golden/mapping/nats.tsv and the
// documented choices in parsers/nats/README.md.
#include "synth/nats_synth.h"

#include <string>

#include "synth/trace_headers.h"

namespace l7h::synth {
namespace {

constexpr const char* kServerNames[] = {"nats-a", "edge-1", "us-south-nats-demo"};
constexpr const char* kServerVersions[] = {"2.9.15", "2.10.7", "2.11.0"};
constexpr const char* kTokens[] = {"orders", "payments", "eu", "new", "_INBOX", "jobs", "resize", "x", "time", ">"};

std::string subject(Rng& rng, bool wildcard_ok) {
  std::string s;
  const size_t parts = 1 + rng.below(3);
  for (size_t i = 0; i < parts; ++i) {
    std::string token = kTokens[rng.below(std::size(kTokens) - (wildcard_ok ? 0 : 1))];
    if (token == ">" && i + 1 < parts) token = "all";
    if (i) s.push_back('.');
    s += token;
  }
  return s;
}

std::string payload(Rng& rng) {
  std::string p;
  const size_t n = rng.below(4) == 0 ? 0 : rng.below(rng.below(8) == 0 ? 3000 : 40);
  for (size_t i = 0; i < n; ++i) p.push_back(static_cast<char>(rng.below(256)));  // CRLF inside is fine
  return p;
}

struct Trace {
  std::string header_lines;
  std::string trace_id, trace_id_2, span_id;
};

Trace trace(Rng& rng) {
  const SynthTrace t = randomTrace(rng, /*any_order=*/false);
  Trace out{"", t.trace_id, t.trace_id_2, t.span_id};
  for (const auto& [name, value] : t.headers) out.header_lines += name + ": " + value + "\r\n";
  return out;
}

std::string endpointOf(const std::string& s) { return s.substr(0, s.find('.')); }

struct Builder {
  ModelConversation& conv;
  std::string version, server_name;

  ModelMessage& add(l7::Direction dir, std::string bytes, l7::MessageKind kind, const char* type) {
    ModelMessage m;
    m.dir = dir;
    m.kind = kind;
    m.fields.request_type = type;
    m.fields.version = version;
    m.fields.request_domain = server_name;
    m.fields.response_status = kind == l7::MessageKind::kRequest ? l7::ResponseStatus::kUnknown : l7::ResponseStatus::kOk;
    const bool request_side = kind == l7::MessageKind::kRequest ||
                              (kind == l7::MessageKind::kOneWay && dir == l7::Direction::kToServer);
    (request_side ? m.fields.request_length : m.fields.response_length) = static_cast<int64_t>(bytes.size());
    m.bytes = std::move(bytes);
    conv.messages.push_back(std::move(m));
    return conv.messages.back();
  }
  void withSubject(ModelMessage& m, const std::string& s) {
    m.fields.request_resource = s;
    m.fields.endpoint = endpointOf(s);
  }
};

void generateNats(Rng& rng, const std::string& version, size_t messages, ModelConversation& conv) {
  using l7::Direction;
  using l7::MessageKind;
  const bool headers = version == "1";
  conv.endpoints.server.port = 4222;
  Builder b{conv, kServerVersions[rng.below(3)], kServerNames[rng.below(3)]};
  const std::string info = std::string("INFO {\"server_id\":\"NB") + randomHex(rng, 8) + "\",\"server_name\":\"" + b.server_name +
                           "\",\"version\":\"" + b.version + "\",\"proto\":" + version +
                           ",\"headers\":" + (headers ? "true" : "false") + ",\"max_payload\":1048576}\r\n";
  b.add(Direction::kToClient, info, MessageKind::kRequest, "INFO");
  const std::string connect = std::string("CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"l7synth\",\"protocol\":") +
                              (headers ? "1,\"headers\":true" : "0") + "}\r\n";
  b.add(Direction::kToServer, connect, MessageKind::kResponse, "CONNECT").answers = 0;
  uint64_t sid = 1;
  while (conv.messages.size() < messages) {
    const uint64_t pick = rng.below(headers ? 11 : 9);
    const std::string subj = subject(rng, false);
    const std::string reply = rng.below(3) == 0 ? " _INBOX." + randomHex(rng, 8) : "";
    switch (pick) {
      case 0: case 1: {  // PUB
        const std::string p = payload(rng);
        auto& m = b.add(Direction::kToServer, "PUB " + subj + reply + " " + std::to_string(p.size()) + "\r\n" + p + "\r\n",
                        MessageKind::kOneWay, "PUB");
        b.withSubject(m, subj);
        break;
      }
      case 2: case 3: {  // MSG
        const std::string p = payload(rng);
        auto& m = b.add(Direction::kToClient,
                        "MSG " + subj + " " + std::to_string(sid) + reply + " " + std::to_string(p.size()) + "\r\n" + p + "\r\n",
                        MessageKind::kOneWay, "MSG");
        b.withSubject(m, subj);
        break;
      }
      case 4: {  // SUB, with or without a queue group
        const std::string filter = subject(rng, true);
        const std::string queue = rng.below(2) ? " workers" : "";
        auto& m = b.add(Direction::kToServer, "SUB " + filter + queue + " " + std::to_string(++sid) + "\r\n",
                        MessageKind::kOneWay, "SUB");
        b.withSubject(m, filter);
        break;
      }
      case 5:  // UNSUB
        b.add(Direction::kToServer, "UNSUB " + std::to_string(sid) + (rng.below(2) ? " 5" : "") + "\r\n",
              MessageKind::kOneWay, "UNSUB");
        break;
      case 6: {  // a PING from either side, answered by the other
        const bool client_pings = rng.below(2) == 0;
        const Direction ping_dir = client_pings ? Direction::kToServer : Direction::kToClient;
        b.add(ping_dir, "PING\r\n", MessageKind::kRequest, "PING");
        const long ping_index = static_cast<long>(conv.messages.size() - 1);
        b.add(client_pings ? Direction::kToClient : Direction::kToServer, "PONG\r\n", MessageKind::kResponse, "PONG")
            .answers = ping_index;
        break;
      }
      case 7:
        b.add(Direction::kToClient, "+OK\r\n", MessageKind::kOneWay, "OK");
        break;
      case 8: {
        const char* text = rng.below(2) ? "Permissions Violation for Publish to x" : "Unknown Protocol Operation";
        auto& m = b.add(Direction::kToClient, std::string("-ERR '") + text + "'\r\n", MessageKind::kOneWay, "ERR");
        m.fields.response_exception = text;
        break;
      }
      case 9:
      case 10: {  // HPUB / HMSG with NATS/1.0 headers, maybe trace context
        const Trace t = trace(rng);
        const std::string block = "NATS/1.0\r\n" + t.header_lines + "X-Id: " + randomHex(rng, 6) + "\r\n\r\n";
        const std::string p = payload(rng);
        const std::string sizes = std::to_string(block.size()) + " " + std::to_string(block.size() + p.size());
        const bool from_client = pick == 9;
        auto& m = from_client
                      ? b.add(Direction::kToServer, "HPUB " + subj + reply + " " + sizes + "\r\n" + block + p + "\r\n",
                              MessageKind::kOneWay, "HPUB")
                      : b.add(Direction::kToClient,
                              "HMSG " + subj + " " + std::to_string(sid) + reply + " " + sizes + "\r\n" + block + p + "\r\n",
                              MessageKind::kOneWay, "HMSG");
        b.withSubject(m, subj);
        m.fields.trace_id = t.trace_id;
        m.fields.trace_id_2 = t.trace_id_2;
        m.fields.span_id = t.span_id;
        break;
      }
    }
  }
}

}  // namespace

// Header messages exist only from client protocol 1 on; protocol 0 leaves
// no mark a record could show.
bool natsRecordShowsVersion(const l7::Record& r, const std::string& version) {
  return version == "1" && (r.f.request_type == "HPUB" || r.f.request_type == "HMSG");
}

// Joined mid-stream (parsers/nats/README.md): after the gap a joined
// capture starts with, decoding resumes at the first complete, valid control
// line, so at any message boundary. The dropped messages include the
// server's INFO (always message 0): the server version and name it carries
// are on no record, and a CONNECT then answers no INFO — a one-way message
// from the client (request side).
void joinNats(const ModelConversation&, size_t, ModelConversation& rest) {
  for (ModelMessage& m : rest.messages) {
    m.fields.version.clear();
    m.fields.request_domain.clear();
    if (m.fields.request_type == "CONNECT") {
      m.kind = l7::MessageKind::kOneWay;
      m.fields.request_length = m.fields.response_length;
      m.fields.response_length.reset();
    }
  }
}

Generator natsGenerator() {
  // Client protocol 1 has headers (HPUB/HMSG); protocol 0 does not.
  Generator g{"nats", "NATS", l7::L7Protocol::kNats, {"1", "0"}, generateNats, natsRecordShowsVersion};
  g.join = joinNats;
  return g;
}

}  // namespace l7h::synth
