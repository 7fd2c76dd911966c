// OpenWire conversations (versions 1 to 12): both WireFormatInfos with
// random wishes (tight or loose, the size prefix or not, the cache on or off
// with a small CacheSize so indexes wrap and evict), then a client's session
// as ActiveMQ's JMS client runs it, the broker's dispatches among it.
// Expectations follow golden/mapping/openwire.tsv, restated here from the
// table and ActiveMQ's OpenWireFormat (negotiation: each flag both sides'
// AND, the lower version), not taken from the decoder.
#include "synth/openwire_synth.h"

#include <algorithm>
#include <string>

#include "synth/openwire_wire.h"
#include "synth/trace_headers.h"

namespace l7h::synth {
namespace {

using l7::Direction;
using l7::MessageKind;
using l7::ResponseStatus;
namespace ow = l7::openwire;
namespace owire = l7::openwire::wire;

constexpr Direction kC = Direction::kToServer;
constexpr Direction kS = Direction::kToClient;

std::string word(Rng& rng, size_t n) { return rng.text(n, "abcdefghijklmnopqrstuvwxyz0123456789._-"); }

struct Builder {
  ModelConversation& conv;
  ow::WireSettings s;                // negotiated
  owire::SenderCache cache[2];       // each side's marshal cache
  std::string version;
  std::string domain;                // the BrokerInfo's URL once sent
  uint32_t next_id[2] = {1, 1};      // each side's command ids

  ModelMessage& add(Direction dir, const owire::Command& c, MessageKind kind) {
    ModelMessage m;
    m.dir = dir;
    m.kind = kind;
    m.bytes = owire::Writer(s, cache[static_cast<int>(dir)]).command(c);
    const ow::TypeInfo& info = ow::typeInfo(c.type);
    m.fields.request_type = std::string(info.name);
    m.fields.version = version;
    m.fields.request_domain = domain;
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    m.fields.request_id = info.category == ow::Category::kResponse ? c.correlation_id : c.command_id;
    conv.messages.push_back(std::move(m));
    return conv.messages.back();
  }
  owire::Command command(Direction dir, uint8_t type, bool response_required) {
    owire::Command c;
    c.type = type;
    c.command_id = next_id[static_cast<int>(dir)]++;
    c.response_required = response_required;
    return c;
  }
  // A request and, from the other side, its Response (or an
  // ExceptionResponse when `error`).
  void exchange(Direction dir, owire::Command c, bool error = false, const std::string& error_message = "") {
    c.response_required = true;
    const long asked = static_cast<long>(conv.messages.size());
    ModelMessage& req = add(dir, c, MessageKind::kRequest);
    destinationFields(req, c);
    owire::Command r = command(l7::reverse(dir), error ? ow::kExceptionResponseType : ow::kResponseType, false);
    r.correlation_id = c.command_id;
    if (error) {
      r.has_exception = true;
      r.exception_class = "javax.jms.InvalidDestinationException";
      r.exception_message = error_message;
    }
    ModelMessage& res = add(l7::reverse(dir), r, MessageKind::kResponse);
    res.answers = asked;
    if (error) {
      res.fields.response_status = ResponseStatus::kServerError;
      res.fields.response_exception = r.exception_class + ": " + error_message;
    }
  }
  static void destinationFields(ModelMessage& m, const owire::Command& c) {
    if (!c.has_destination) return;
    m.fields.request_resource = c.destination.name;
    m.fields.endpoint = c.destination.name;
  }
};

owire::Destination randomDestination(Rng& rng) {
  static const char* const kNames[] = {"orders", "prices", "audit.log", "A,B", "ID:temp-1:1:1"};
  owire::Destination d;
  d.type = static_cast<uint8_t>(ow::kQueueType + rng.below(4));
  d.name = rng.below(4) == 0 ? word(rng, 1 + rng.below(30)) : kNames[rng.below(std::size(kNames))];
  return d;
}

// A JMS message (its type one of the ActiveMQ*Message family) with a
// destination, maybe a correlation id, maybe trace properties.
owire::Command jmsMessage(Rng& rng, Builder& b, Direction dir, SynthTrace& trace) {
  owire::Command m = b.command(dir, static_cast<uint8_t>(23 + rng.below(7)), false);
  m.has_destination = true;
  m.destination = randomDestination(rng);
  if (rng.below(2)) m.jms_correlation_id = "corr-" + word(rng, 1 + rng.below(12));
  trace = randomTrace(rng, true);
  m.properties = trace.headers;
  if (rng.below(2)) m.properties.insert(m.properties.begin(), {"app", word(rng, rng.below(10))});
  const uint64_t sizes[] = {0, 0x7F, 0x1234, 0x12345678, 0x123456789Aull};
  m.long_value = sizes[rng.below(std::size(sizes))];
  if (rng.below(3) == 0) m.filler = rng.below(2) ? "gr\xC3\xBC\xC3\x9F" : word(rng, rng.below(40));
  return m;
}

void messageFields(ModelMessage& m, Direction dir, const owire::Command& c, const SynthTrace& t) {
  Builder::destinationFields(m, c);
  if (!c.jms_correlation_id.empty()) (dir == kC ? m.fields.x_request_id_0 : m.fields.x_request_id_1) = c.jms_correlation_id;
  m.fields.trace_id = t.trace_id;
  m.fields.trace_id_2 = t.trace_id_2;
  m.fields.span_id = t.span_id;
}

// A command that carries a JMS message (`jms`: itself, or a dispatch's
// message), answered by the other side's Response when `answered`.
void carry(Builder& b, Direction dir, owire::Command c, const owire::Command& jms, const SynthTrace& trace,
           bool answered) {
  if (!answered) {
    messageFields(b.add(dir, c, MessageKind::kOneWay), dir, jms, trace);
    return;
  }
  const long asked = static_cast<long>(b.conv.messages.size());
  c.response_required = true;
  messageFields(b.add(dir, c, MessageKind::kRequest), dir, jms, trace);
  owire::Command r = b.command(l7::reverse(dir), ow::kResponseType, false);
  r.correlation_id = c.command_id;
  b.add(l7::reverse(dir), r, MessageKind::kResponse).answers = asked;
}

ow::WireSettings wish(Rng& rng, bool tight, bool prefix, bool cache, uint32_t cache_size) {
  ow::WireSettings w;
  // One side may wish for more than the other; the AND decides.
  w.tight = tight || rng.below(2);
  w.size_prefix_disabled = !prefix || rng.below(2);
  w.cache = cache || rng.below(2);
  w.cache_size = cache_size + static_cast<uint32_t>(rng.below(3) * 100);
  w.stack_trace = rng.below(4) != 0;
  return w;
}

void generateOpenWire(Rng& rng, const std::string& version, size_t messages, ModelConversation& conv) {
  conv.endpoints.server.port = 61616;
  const uint32_t v = static_cast<uint32_t>(std::stoul(version));
  // The negotiated format, then what each side asked for (one side exactly
  // it, the other at least it).
  const bool tight = rng.below(2), prefix = rng.below(2), cache = rng.below(2);
  const uint32_t cache_size = 2 + static_cast<uint32_t>(rng.below(6));
  ow::WireSettings exact{tight, !prefix, cache, cache ? cache_size : 0, rng.below(2) != 0, v};
  ow::WireSettings other = wish(rng, tight, prefix, cache, cache_size);
  if (!exact.stack_trace) other.stack_trace = rng.below(2);
  else other.stack_trace = true;
  if (!cache) other.cache_size = cache_size;  // no cache: the size does not matter
  const bool client_exact = rng.below(2);
  const uint32_t other_version = v + static_cast<uint32_t>(rng.below(2)) * (v < ow::kMaxVersion ? 1 : 0);
  Builder b{conv, exact, {}, version};
  auto wfi = [&](Direction dir, const ow::WireSettings& w, uint32_t wv) {
    ModelMessage m;
    m.dir = dir;
    m.bytes = owire::wireFormatInfo(wv, w, rng.below(2) ? 104857600 : 0);
    m.fields.request_type = "WireFormatInfo";
    m.fields.version = std::to_string(wv);
    m.fields.response_status = ResponseStatus::kOk;
    conv.messages.push_back(std::move(m));
  };
  wfi(kC, client_exact ? exact : other, client_exact ? v : other_version);
  wfi(kS, client_exact ? other : exact, client_exact ? other_version : v);

  // The broker introduces itself; its URL is every later record's domain.
  owire::Command broker = b.command(kS, ow::kBrokerInfoType, false);
  broker.command_id = 0;
  b.next_id[1] = 1;
  broker.broker_url = "tcp://broker-" + word(rng, 4) + ":61616";
  broker.filler = "localhost";
  b.domain = broker.broker_url;
  b.add(kS, broker, MessageKind::kOneWay);

  owire::Command conn = b.command(kC, 3, true);
  conn.filler = "ID:client-" + word(rng, 6);
  b.exchange(kC, conn);
  b.exchange(kC, b.command(kC, 4, true));  // SessionInfo

  while (conv.messages.size() < messages) {
    const uint64_t pick = rng.below(12);
    if (pick < 4) {  // a send, answered when the client asks (persistent sends do)
      SynthTrace trace;
      const owire::Command m = jmsMessage(rng, b, kC, trace);
      carry(b, kC, m, m, trace, rng.below(2) != 0);
    } else if (pick < 7) {  // the broker dispatches a message (and may ask for an answer)
      SynthTrace trace;
      owire::Command inner = jmsMessage(rng, b, kS, trace);
      inner.command_id = 0;
      owire::Command d = b.command(kS, ow::kMessageDispatchType, false);
      d.has_destination = true;
      d.destination = inner.destination;
      d.message = std::make_shared<owire::Command>(inner);
      carry(b, kS, d, inner, trace, rng.below(4) == 0);
    } else if (pick == 7) {  // the client acknowledges
      owire::Command ack = b.command(kC, 22, false);
      ack.has_destination = true;
      ack.destination = randomDestination(rng);
      Builder::destinationFields(b.add(kC, ack, MessageKind::kOneWay), ack);
    } else if (pick == 8) {  // a producer or consumer, maybe refused
      owire::Command info = b.command(kC, rng.below(2) ? 5 : 6, true);
      info.has_destination = true;
      info.destination = randomDestination(rng);
      const bool refused = rng.below(4) == 0;
      b.exchange(kC, info, refused, "Cannot publish to a deleted destination: " + info.destination.name);
    } else if (pick == 9) {  // transactions and destination management
      const uint8_t type = rng.below(2) ? 7 : 8;
      owire::Command c = b.command(kC, type, true);
      if (type == 8) {
        c.has_destination = true;
        c.destination = randomDestination(rng);
      }
      b.exchange(kC, c);
    } else if (pick == 10) {  // keep-alives, either way
      const Direction d = rng.below(2) ? kC : kS;
      b.add(d, b.command(d, 10, false), MessageKind::kOneWay);
    } else {
      b.exchange(kC, b.command(kC, 12, true));  // RemoveInfo
    }
  }
  b.add(kC, b.command(kC, 11, false), MessageKind::kOneWay);  // ShutdownInfo
}

bool openwireRecordShowsVersion(const l7::Record& r, const std::string& version) {
  return r.f.request_type != "WireFormatInfo" && r.f.version == version;
}

// Joined mid-stream only at the WireFormatInfos: they say how every later
// command is encoded (a later join reads ActiveMQ's defaults).
bool openwireJoinable(const std::string&, const ModelConversation&, size_t first) { return first == 0; }

// Every command may fill the marshal cache (ids and destinations by value,
// named by index later), and the WireFormatInfos and BrokerInfo say how and
// with what domain later ones are read: losing any may change what follows.
bool openwireCarriesState(const ModelConversation&, size_t) { return true; }

}  // namespace

Generator openwireGenerator() {
  Generator g{"openwire", "OpenWire", l7::L7Protocol::kOpenWire, {"12", "11", "10", "9", "8", "7", "6", "5", "4", "3", "2", "1"}, generateOpenWire,
              openwireRecordShowsVersion};
  g.pairs_by_id = true;
  g.joinable = openwireJoinable;
  g.carries_state = openwireCarriesState;
  return g;
}

}  // namespace l7h::synth
