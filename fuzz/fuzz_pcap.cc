// fuzz_pcap: arbitrary bytes as a capture file through the whole replay
// pipeline: libpcap, link layers, IP and fragments, TCP reassembly,
// protocol recognition, every registered decoder, pairing and ordering.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "record_invariants.h"
#include "session/replay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  l7h::ReplayOptions options;
  options.limits.max_buffered_bytes = 64 * 1024;
  options.max_connections = 64;
  options.max_buffered_per_connection = 256 * 1024;
  int64_t last_start = INT64_MIN;
  l7fuzz::RecordChecker check;
  l7h::replayCaptureBytes(std::span<const uint8_t>(data, size), options, [&](const l7::Record& r) {
    check(r);
    // Records leave in the contract's order.
    if (r.start_time_us < last_start) {
      std::fprintf(stderr, "fuzz invariant violated: records out of start_time order\n");
      std::abort();
    }
    last_start = r.start_time_us;
  });
  return 0;
}
