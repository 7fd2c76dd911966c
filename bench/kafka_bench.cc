// Kafka decoder throughput through the connection path: Produce v9
// (flexible) requests with a traced record batch, and their responses,
// built with the synthesizer's Kafka message builders (written from the
// protocol layouts, independent of the decoder). Whole frames and one byte per call.
#include <benchmark/benchmark.h>

#include "synth/kafka_messages.h"
#include "l7/registry.h"
#include "session/connection.h"

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
  l7h::ReplayOptions options;
  size_t records = 0;
  for (auto _ : state) {
    l7h::OrderedOutput output([&](const l7::Record&) { ++records; });
    uint64_t seen = 0;
    l7h::ConnectionCounters counters;
    l7h::FlowColumns flow;
    flow.flow_id = 1;
    flow.decoder = decoder;
    l7h::Connection conn(flow, options, l7h::ConnectionOutput{&output, &seen, &counters});
    uint64_t offset[2] = {0, 0};
    int64_t ts = 1;
    for (const auto& [dir, wire] : messages) {
      const int d = static_cast<int>(dir);
      for (size_t pos = 0; pos < wire.size(); pos += piece) {
        const size_t n = std::min(piece, wire.size() - pos);
        conn.data(dir, offset[d], static_cast<uint32_t>(offset[d]), ts++, l7::asBytes(std::string_view(wire).substr(pos, n)));
        offset[d] += n;
      }
    }
    conn.close();
    output.releaseAll();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages.size()));
  state.counters["records"] = static_cast<double>(records) / static_cast<double>(state.iterations());
}

void BM_Kafka_ProduceWholeMessages(benchmark::State& state) { run(state, 1 << 20); }
void BM_Kafka_ProduceOneBytePerCall(benchmark::State& state) { run(state, 1); }
BENCHMARK(BM_Kafka_ProduceWholeMessages);
BENCHMARK(BM_Kafka_ProduceOneBytePerCall);

}  // namespace
