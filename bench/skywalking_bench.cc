// SkyWalking segments mapped per second: a Java-agent-shaped segment with an
// HTTP entry, an HTTP exit and a database exit span.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "skywalking/segment_mapper.h"

namespace {

void BM_SkywalkingMapSegment(benchmark::State& state) {
  std::ifstream in(std::string(L7_SOURCE_DIR) + "/corpus/skywalking/java-http.json");
  std::stringstream s;
  s << in.rdbuf();
  const std::string body = s.str();
  size_t spans = 0;
  for (auto _ : state) {
    auto result = l7h::skywalking::mapSegmentsJson(body);
    spans += result.records.size();
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));  // segments
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(spans), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SkywalkingMapSegment);

}  // namespace
