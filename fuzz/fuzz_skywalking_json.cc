// fuzz_skywalking_json: arbitrary bytes as a SkyWalking segment body. The
// mapper never throws, every record it makes is a valid contract line, and
// records come in start_time order.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "record_invariants.h"
#include "skywalking/segment_mapper.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto result =
      l7h::skywalking::mapSegmentsJson(std::string_view(reinterpret_cast<const char*>(data), size));
  int64_t last = INT64_MIN;
  l7fuzz::RecordChecker check;
  for (const auto& r : result.records) {
    check(r);
    if (r.start_time_us < last || r.signal_source != 4) {
      std::fprintf(stderr, "fuzz invariant violated: order or signal_source\n");
      std::abort();
    }
    last = r.start_time_us;
  }
  for (const auto& e : result.errors) {
    if (e.where.empty() || e.reason.empty()) {
      std::fprintf(stderr, "fuzz invariant violated: an error without where or why\n");
      std::abort();
    }
  }
  return 0;
}
