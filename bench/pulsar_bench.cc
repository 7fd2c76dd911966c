// Pulsar through the production connection path on its own traffic shapes:
// a producer's SEND/SEND_RECEIPT stream with trace properties (the payload
// checksum verified on every SEND), batched SENDs walked entry by entry,
// large messages (CRC32C over 256 KiB each), and the checksum alone.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_measure.h"
#include "l7/registry.h"
#include "pulsar/crc32c.h"
#include "synth/pulsar_wire.h"

namespace {

namespace w = l7h::synth::pulsarwire;

struct Conversation {
  std::vector<std::pair<l7::Direction, std::string>> messages;
  std::vector<l7bench::WireMessage> wire;
  size_t total = 0;
  void add(l7::Direction d, std::string b) { messages.emplace_back(d, std::move(b)); }
  void finish() {
    for (const auto& [d, b] : messages) {
      wire.emplace_back(d, b);
      total += b.size();
    }
  }
};

// CONNECT, PRODUCER, then `n` SENDs of `batch` entries (0: not batched) of
// `body` bytes, each answered by its SEND_RECEIPT.
Conversation producer(size_t n, size_t body, int batch) {
  Conversation c;
  const std::string topic = "persistent://public/default/orders";
  c.add(l7::Direction::kToServer, w::connect(21));
  c.add(l7::Direction::kToClient, w::connected(21));
  c.add(l7::Direction::kToServer, w::producer(topic, 0, 0));
  c.add(l7::Direction::kToClient, w::producerSuccess(0, "p-0"));
  const w::Properties trace = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  const std::string data(body, 'd');
  for (size_t i = 0; i < n; ++i) {
    std::string metadata, payload;
    if (batch > 0) {
      for (int e = 0; e < batch; ++e) payload += w::batchEntry(trace, data);
      metadata = w::metadata("p-0", i, 1767225600000 + i, {}, batch);
    } else {
      payload = data;
      metadata = w::metadata("p-0", i, 1767225600000 + i, trace);
    }
    c.add(l7::Direction::kToServer, w::send(0, i, metadata, payload, batch > 0 ? batch : 1));
    c.add(l7::Direction::kToClient, w::sendReceipt(0, i, 9, i));
  }
  c.finish();
  return c;
}

void run(benchmark::State& state, const Conversation& c, size_t piece) {
  l7bench::measureConnection(state, l7::findDecoder("pulsar"), c.wire, c.total, c.messages.size(), piece);
}

void BM_Pulsar_ProducerSmall(benchmark::State& state) {
  static const Conversation c = producer(5000, 100, 0);
  run(state, c, 1460);
}
void BM_Pulsar_ProducerBatches(benchmark::State& state) {
  static const Conversation c = producer(1000, 40, 20);
  run(state, c, 1460);
}
void BM_Pulsar_ProducerLarge(benchmark::State& state) {
  static const Conversation c = producer(40, 256 * 1024, 0);
  run(state, c, 65483);
}
void BM_Pulsar_Crc32c(benchmark::State& state) {
  const std::string data(1 << 20, 'x');
  uint32_t sink = 0;
  for (auto _ : state) sink ^= l7::pulsar::crc32c(l7::asBytes(data));
  benchmark::DoNotOptimize(sink);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Pulsar_ProducerSmall);
BENCHMARK(BM_Pulsar_ProducerBatches);
BENCHMARK(BM_Pulsar_ProducerLarge);
BENCHMARK(BM_Pulsar_Crc32c);

}  // namespace
