// Per-decoder throughput through the production connection path (decoder,
// buffering, pairing, record building), on synthesized conversations:
// typical traffic (whole messages), worst-case delivery (one byte per call,
// which exercises need-more and tail buffering on every byte) and worst-case
// content (random bytes: every offset is a failed frame start, so this is
// the cost of status-6 records and resynchronization).
#include <benchmark/benchmark.h>

#include "l7/registry.h"
#include "connection_driver.h"
#include "synth/synthesizer.h"

namespace {

struct Workload {
  const l7::DecoderInfo* decoder = nullptr;
  std::vector<l7h::synth::ModelMessage> messages;
  size_t bytes = 0;
};

Workload workload(const std::string& protocol) {
  Workload w;
  w.decoder = l7::findDecoder(protocol);
  l7h::synth::SynthOptions o;
  o.protocol = protocol;
  o.messages = 2000;
  l7h::synth::Model model;
  std::string error;
  if (w.decoder == nullptr || !l7h::synth::buildModel(o, model, error)) return w;
  w.messages = model.conversations.front().messages;
  for (const auto& m : w.messages) w.bytes += m.bytes.size();
  return w;
}

void run(benchmark::State& state, const std::string& protocol, size_t piece) {
  const Workload w = workload(protocol);
  if (w.decoder == nullptr) {
    state.SkipWithError(("no decoder or generator for " + protocol).c_str());
    return;
  }
  std::vector<l7bench::WireMessage> wire;
  for (const auto& m : w.messages) wire.emplace_back(m.dir, m.bytes);
  size_t records = 0;
  for (auto _ : state) records += l7bench::driveConnection(w.decoder, wire, piece);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w.messages.size()));
  state.counters["records"] = static_cast<double>(records) / static_cast<double>(state.iterations());
}

// 1 MiB of deterministic noise from the client in 1460-byte segments, with
// the connection joined mid-stream (the decoder must resynchronize).
void junk(benchmark::State& state, const std::string& protocol) {
  const l7::DecoderInfo* decoder = l7::findDecoder(protocol);
  if (decoder == nullptr) {
    state.SkipWithError(("no decoder for " + protocol).c_str());
    return;
  }
  std::string noise(1 << 20, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x >> 56);
  }
  // The client's noise in 1460-byte segments, as a sender with that MSS would.
  const std::vector<l7bench::WireMessage> wire = {{l7::Direction::kToServer, noise}};
  size_t records = 0;
  for (auto _ : state) records += l7bench::driveConnection(decoder, wire, 1460, /*joined_mid_stream=*/true);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * noise.size()));
  state.counters["records"] = static_cast<double>(records) / static_cast<double>(state.iterations());
}

// One line per protocol with a generator.
void BM_Nats_WholeMessages(benchmark::State& state) { run(state, "nats", 1 << 20); }
void BM_Mqtt_WholeMessages(benchmark::State& state) { run(state, "mqtt", 1 << 20); }
void BM_Mqtt_OneBytePerCall(benchmark::State& state) { run(state, "mqtt", 1); }
void BM_Zmtp_WholeMessages(benchmark::State& state) { run(state, "zmtp", 1 << 20); }
void BM_Zmtp_OneBytePerCall(benchmark::State& state) { run(state, "zmtp", 1); }
void BM_Nats_OneBytePerCall(benchmark::State& state) { run(state, "nats", 1); }
void BM_Amqp_WholeMessages(benchmark::State& state) { run(state, "amqp", 1 << 20); }
void BM_Amqp_OneBytePerCall(benchmark::State& state) { run(state, "amqp", 1); }
void BM_Pulsar_WholeMessages(benchmark::State& state) { run(state, "pulsar", 1 << 20); }
void BM_Pulsar_OneBytePerCall(benchmark::State& state) { run(state, "pulsar", 1); }
void BM_OpenWire_WholeMessages(benchmark::State& state) { run(state, "openwire", 1 << 20); }
void BM_OpenWire_OneBytePerCall(benchmark::State& state) { run(state, "openwire", 1); }
BENCHMARK(BM_Nats_WholeMessages);
BENCHMARK(BM_Nats_OneBytePerCall);
BENCHMARK(BM_Mqtt_WholeMessages);
BENCHMARK(BM_Mqtt_OneBytePerCall);
BENCHMARK(BM_Amqp_WholeMessages);
BENCHMARK(BM_Amqp_OneBytePerCall);
BENCHMARK(BM_Zmtp_WholeMessages);
BENCHMARK(BM_Zmtp_OneBytePerCall);
BENCHMARK(BM_Pulsar_WholeMessages);
BENCHMARK(BM_Pulsar_OneBytePerCall);
BENCHMARK(BM_OpenWire_WholeMessages);
BENCHMARK(BM_OpenWire_OneBytePerCall);

// One line per decoder.
void BM_Nats_RandomBytes(benchmark::State& state) { junk(state, "nats"); }
void BM_Mqtt_RandomBytes(benchmark::State& state) { junk(state, "mqtt"); }
void BM_Kafka_RandomBytes(benchmark::State& state) { junk(state, "kafka"); }
void BM_Amqp_RandomBytes(benchmark::State& state) { junk(state, "amqp"); }
void BM_Zmtp_RandomBytes(benchmark::State& state) { junk(state, "zmtp"); }
void BM_Pulsar_RandomBytes(benchmark::State& state) { junk(state, "pulsar"); }
void BM_OpenWire_RandomBytes(benchmark::State& state) { junk(state, "openwire"); }
BENCHMARK(BM_Nats_RandomBytes);
BENCHMARK(BM_Mqtt_RandomBytes);
BENCHMARK(BM_Kafka_RandomBytes);
BENCHMARK(BM_Amqp_RandomBytes);
BENCHMARK(BM_Zmtp_RandomBytes);
BENCHMARK(BM_Pulsar_RandomBytes);
BENCHMARK(BM_OpenWire_RandomBytes);

}  // namespace
