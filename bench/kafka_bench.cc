// Kafka decoder throughput through the connection path: Produce v9
// (flexible) requests with a traced record batch, and their responses,
// built with the synthesizer's Kafka message builders (written from the
// protocol layouts, independent of the decoder). Whole frames and one byte per call.
#include <benchmark/benchmark.h>

#include "synth/kafka_messages.h"
#include "l7/registry.h"
#include "connection_driver.h"

namespace kafkatest = l7h::synth::kafkawire;

namespace {

void run(benchmark::State& state, size_t piece) {
  const l7::DecoderInfo* decoder = l7::findDecoder("kafka");
  std::vector<std::pair<l7::Direction, std::string>> messages;
  size_t bytes = 0;
  for (int32_t corr = 1; corr <= 2000; ++corr) {
    messages.emplace_back(l7::Direction::kToServer,
                          kafkatest::produceRequest(9, corr, "orders", corr % 8, kafkatest::tracedRecords()));
    messages.emplace_back(l7::Direction::kToClient, kafkatest::produceResponse(9, corr, "orders", {{corr % 8, 0, 4200 + corr}}));
  }
  for (const auto& m : messages) bytes += m.second.size();
  std::vector<l7bench::WireMessage> wire;
  for (const auto& [dir, bytes_of] : messages) wire.emplace_back(dir, bytes_of);
  size_t records = 0;
  for (auto _ : state) records += l7bench::driveConnection(decoder, wire, piece);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages.size()));
  state.counters["records"] = static_cast<double>(records) / static_cast<double>(state.iterations());
}

void BM_Kafka_ProduceWholeMessages(benchmark::State& state) { run(state, 1 << 20); }
void BM_Kafka_ProduceOneBytePerCall(benchmark::State& state) { run(state, 1); }
BENCHMARK(BM_Kafka_ProduceWholeMessages);
BENCHMARK(BM_Kafka_ProduceOneBytePerCall);

}  // namespace
