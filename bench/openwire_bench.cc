// OpenWire through the production connection path on the traffic shapes
// that matter for it: a producer's persistent sends (each answered by a
// Response) in every encoding a connection can negotiate, tight with the
// marshal cache (ActiveMQ's default) to loose without a size prefix (each
// command's length known only once its fields are walked), and large
// messages, which the decoder frames by their size prefix.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_measure.h"
#include "l7/registry.h"
#include "synth/openwire_wire.h"

namespace {

namespace ow = l7::openwire;
namespace owire = l7::openwire::wire;

// The bytes are kept here; the wire messages are views of them.
struct Conversation {
  std::vector<std::pair<l7::Direction, std::string>> bytes;
  std::vector<l7bench::WireMessage> wire;
  size_t total = 0;
  size_t messages = 0;
  void add(l7::Direction d, std::string b) {
    total += b.size();
    ++messages;
    bytes.emplace_back(d, std::move(b));
  }
  void finish() {
    for (const auto& [d, b] : bytes) wire.emplace_back(d, b);
  }
};

// Both WireFormatInfos, then `n` sends of `body` bytes with properties and
// a correlation id, each answered.
Conversation sends(bool tight, bool prefix, bool cache, size_t n, size_t body) {
  ow::WireSettings s{tight, !prefix, cache, cache ? 1024u : 0u, true, 12};
  owire::SenderCache caches[2];
  Conversation c;
  c.add(l7::Direction::kToServer, owire::wireFormatInfo(12, s));
  c.add(l7::Direction::kToClient, owire::wireFormatInfo(12, s));
  for (size_t i = 0; i < n; ++i) {
    owire::Command m;
    m.type = ow::kTextMessageType;
    m.command_id = static_cast<uint32_t>(i + 1);
    m.response_required = true;
    m.has_destination = true;
    m.destination = {ow::kQueueType, "orders"};
    m.jms_correlation_id = "corr-" + std::to_string(i);
    m.properties = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
    m.long_value = 1767225600000 + i;
    m.filler = std::string(body, 'x');
    c.add(l7::Direction::kToServer, owire::Writer(s, caches[0]).command(m));
    owire::Command r;
    r.type = ow::kResponseType;
    r.correlation_id = m.command_id;
    c.add(l7::Direction::kToClient, owire::Writer(s, caches[1]).command(r));
  }
  c.finish();
  return c;
}

void run(benchmark::State& state, const Conversation& c, size_t piece) {
  l7bench::measureConnection(state, l7::findDecoder("openwire"), c.wire, c.total, c.messages, piece);
}

void BM_OpenWire_TightCachedSends(benchmark::State& state) {
  static const Conversation c = sends(true, true, true, 5000, 40);
  run(state, c, 1460);
}
void BM_OpenWire_LooseUncachedSends(benchmark::State& state) {
  static const Conversation c = sends(false, true, false, 5000, 40);
  run(state, c, 1460);
}
void BM_OpenWire_LooseNoPrefixSends(benchmark::State& state) {
  static const Conversation c = sends(false, false, false, 5000, 40);
  run(state, c, 1460);
}
void BM_OpenWire_TightLargeSends(benchmark::State& state) {
  static const Conversation c = sends(true, true, true, 20, 30000);
  run(state, c, 65483);
}
BENCHMARK(BM_OpenWire_TightCachedSends);
BENCHMARK(BM_OpenWire_LooseUncachedSends);
BENCHMARK(BM_OpenWire_LooseNoPrefixSends);
BENCHMARK(BM_OpenWire_TightLargeSends);

}  // namespace
