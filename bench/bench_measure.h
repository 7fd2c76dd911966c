// One benchmark iteration loop over a connection's wire messages, with the
// counters every decoder benchmark reports (bytes/s, messages/s, records).
#pragma once

#include <benchmark/benchmark.h>

#include <vector>

#include "connection_driver.h"

namespace l7bench {

inline void measureConnection(benchmark::State& state, const l7::DecoderInfo* decoder,
                              const std::vector<WireMessage>& wire, size_t bytes, size_t messages, size_t piece) {
  size_t records = 0;
  for (auto _ : state) records += driveConnection(decoder, wire, piece);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages));
  state.counters["records"] = static_cast<double>(records) / static_cast<double>(state.iterations());
}

}  // namespace l7bench
