#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "session/replay.h"

namespace l7h {

long peakRssKb() {
  // VmHWM: this process's resident high-water mark (reset at exec, unlike
  // getrusage's ru_maxrss, which carries the parent's over a vfork+exec).
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return kb;
}

void ReplayStats::print(FILE* out) const {
  auto line = [&](const char* name, uint64_t v) {
    if (v != 0) std::fprintf(out, "  %-28s %" PRIu64 "\n", name, v);
  };
  std::fprintf(out, "counters:\n");
  std::fprintf(out, "  %-28s %" PRIu64 "\n", "packets", packets);
  std::fprintf(out, "  %-28s %" PRIu64 "\n", "bytes", bytes);
  line("non-TCP packets", non_tcp_packets);
  line("snap-length truncated", truncated_packets);
  line("IP fragments", ip_fragments);
  line("reassembled datagrams", reassembled_datagrams);
  line("malformed packets", bad_packets);
  std::fprintf(out, "  %-28s %" PRIu64 "\n", "connections", connections);
  line("unclassified connections", unclassified_connections);
  line("evicted connections", evicted_connections);
  line("retransmitted bytes", retransmitted_bytes);
  line("overlapping segments", overlapping_segments);
  line("out-of-order segments", out_of_order_segments);
  line("gaps", gaps);
  line("gap bytes", gap_bytes);
  std::fprintf(out, "  %-28s %" PRIu64 "\n", "messages", messages);
  for (const auto& [proto, n] : messages_per_protocol) {
    std::fprintf(out, "    %-26s %" PRIu64 "\n", proto.c_str(), n);
  }
  line("parse failures", parse_failures);
  std::fprintf(out, "  %-28s %" PRIu64 "\n", "records", records);
  line("session timeouts", timeouts);
  line("pending requests evicted", pending_evicted);
  std::fprintf(out, "  %-28s %ld\n", "peak RSS kB", peakRssKb());
}

}  // namespace l7h
