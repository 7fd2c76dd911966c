#include <algorithm>
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

void ReplayStats::add(const ReplayStats& o) {
  packets += o.packets;
  bytes += o.bytes;
  non_tcp_packets += o.non_tcp_packets;
  truncated_packets += o.truncated_packets;
  ip_fragments += o.ip_fragments;
  reassembled_datagrams += o.reassembled_datagrams;
  bad_packets += o.bad_packets;
  connections += o.connections;
  unclassified_connections += o.unclassified_connections;
  evicted_connections += o.evicted_connections;
  retransmitted_bytes += o.retransmitted_bytes;
  overlapping_segments += o.overlapping_segments;
  out_of_order_segments += o.out_of_order_segments;
  gaps += o.gaps;
  gap_bytes += o.gap_bytes;
  messages += o.messages;
  parse_failures += o.parse_failures;
  records += o.records;
  pending_evicted += o.pending_evicted;
  timeouts += o.timeouts;
  clients_by_port += o.clients_by_port;
  clients_by_first_speaker += o.clients_by_first_speaker;
  held_released_early += o.held_released_early;
  pending_flushed_for_memory += o.pending_flushed_for_memory;
  tails_dropped_for_memory += o.tails_dropped_for_memory;
  tail_bytes_dropped_for_memory += o.tail_bytes_dropped_for_memory;
  memory_accounted_peak = std::max(memory_accounted_peak, o.memory_accounted_peak);
  decompression_budget_hits += o.decompression_budget_hits;
  for (const auto& entry : o.messages_per_protocol) {
    auto it = std::find_if(messages_per_protocol.begin(), messages_per_protocol.end(),
                           [&](const auto& p) { return p.first == entry.first; });
    if (it == messages_per_protocol.end()) {
      messages_per_protocol.push_back(entry);
    } else {
      it->second += entry.second;
    }
  }
  std::sort(messages_per_protocol.begin(), messages_per_protocol.end());
}

void ReplayStats::print(FILE* out) const {
  // Rare conditions print only when they happened; the ones a user looks
  // for first (gaps, failures, evictions) always print, 0 included.
  auto line = [&](const char* name, uint64_t v) {
    if (v != 0) std::fprintf(out, "  %-28s %" PRIu64 "\n", name, v);
  };
  auto always = [&](const char* name, uint64_t v) { std::fprintf(out, "  %-28s %" PRIu64 "\n", name, v); };
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
  line("client named by port", clients_by_port);
  line("client named by first word", clients_by_first_speaker);
  always("evicted connections", evicted_connections);
  line("retransmitted bytes", retransmitted_bytes);
  line("overlapping segments", overlapping_segments);
  line("out-of-order segments", out_of_order_segments);
  always("gaps", gaps);
  line("gap bytes", gap_bytes);
  std::fprintf(out, "  %-28s %" PRIu64 "\n", "messages", messages);
  for (const auto& [proto, n] : messages_per_protocol) {
    std::fprintf(out, "    %-26s %" PRIu64 "\n", proto.c_str(), n);
  }
  always("parse failures", parse_failures);
  line("decompression budget hits", decompression_budget_hits);
  std::fprintf(out, "  %-28s %" PRIu64 "\n", "records", records);
  line("session timeouts", timeouts);
  always("pending requests evicted", pending_evicted);
  // Printed only when the memory bounds acted (output is then degraded).
  line("held records released early", held_released_early);
  line("pending flushed (memory)", pending_flushed_for_memory);
  line("tails dropped (memory)", tails_dropped_for_memory);
  line("tail bytes dropped (memory)", tail_bytes_dropped_for_memory);
  if (held_released_early + pending_flushed_for_memory + tails_dropped_for_memory > 0) {
    line("memory accounted peak kB", memory_accounted_peak >> 10);
  }
  std::fprintf(out, "  %-28s %ld\n", "peak RSS kB", peakRssKb());
}

}  // namespace l7h
