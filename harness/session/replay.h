// The replay pipeline as a library: capture file → packets → TCP streams →
// decoders → paired records in the contract's order. The CLI (`replay`,
// `check`, `bench`), the synthesizer's properties, the fuzzers and the
// benchmarks all call this, so they exercise exactly one code path.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "l7/decoder.h"
#include "l7/record.h"

namespace l7h {

class MemoryBudget;

struct ReplayOptions {
  l7::DecoderLimits limits;
  // The protocols to recognize, in probe order; empty: the registry's
  // (l7::allDecoders()). Tests and embedders add decoders of their own here.
  std::span<const l7::DecoderInfo> decoders;
  int64_t session_timeout_us = 120'000'000;  // unanswered request → type 0, status 2
  uint32_t max_pending_per_connection = 1024; // oldest pending request written out past this
  uint32_t max_connections = 100'000;         // connection table bound (oldest idle evicted)
  int64_t idle_timeout_us = 300'000'000;      // connections idle this long are closed
  uint32_t max_buffered_per_connection = 8u << 20;  // TCP out-of-order bytes held per connection
  // One budget for everything the replay holds (capture/memory_budget.h);
  // past it the replay degrades in the stated order.
  uint64_t memory_limit_bytes = 1ull << 30;
  // When set, the replay counts against this budget instead of one of its
  // own (so `replay --metrics` and several files share one limit).
  MemoryBudget* budget = nullptr;
  // Records held for output ordering past this count release the oldest
  // at once (about 1 KB each; the budget bounds their bytes too).
  uint32_t max_held_records = 100'000;
  std::string force_protocol;                 // "nats": skip probing, decode every TCP connection as this
  std::string bpf_filter;                     // replayCapture: only the packets this BPF filter matches
  bool progress = false;                      // progress line on stderr (when it is a terminal)
  // Threads for a capture file (not a live capture): above 1, one reads
  // packets and joins IP fragments, `threads` workers each reassemble and
  // decode the connections hashed to them (a connection's two directions
  // hash alike), and the calling thread merges their records back into the
  // single-thread order (session/shard_merge.h). The output is the same
  // byte for byte, except where a cap is hit: the memory limit, the
  // connection table and the held-record cap are divided between the
  // workers, so each reaches its share on its own.
  uint32_t threads = 1;
  // Test hook: re-split every delivered TCP payload before decoding, to prove
  // that output does not depend on segmentation. 0 = off, 1 = one byte at a
  // time, N > 1 = random pieces of 1..N bytes from `resegment_seed`.
  uint32_t resegment_max = 0;
  uint64_t resegment_seed = 1;
};

// Counters printed at the end of every run.
struct ReplayStats {
  uint64_t packets = 0, bytes = 0, non_tcp_packets = 0, truncated_packets = 0;
  uint64_t ip_fragments = 0, reassembled_datagrams = 0, bad_packets = 0;
  uint64_t connections = 0, unclassified_connections = 0, evicted_connections = 0;
  uint64_t retransmitted_bytes = 0, overlapping_segments = 0, out_of_order_segments = 0;
  uint64_t gaps = 0, gap_bytes = 0;
  uint64_t messages = 0, parse_failures = 0, records = 0;
  uint64_t pending_evicted = 0, timeouts = 0;
  uint64_t clients_by_port = 0, clients_by_first_speaker = 0;
  // Memory: records released before their turn (the held count cap, or
  // the budget's first step), pending requests written out and tails
  // dropped by the budget's later steps, and the budget's own peak.
  uint64_t held_released_early = 0, pending_flushed_for_memory = 0;
  uint64_t tails_dropped_for_memory = 0, tail_bytes_dropped_for_memory = 0;
  uint64_t memory_accounted_peak = 0;
  uint64_t decompression_budget_hits = 0;  // compressed payloads not inflated: a connection's budget was spent
  std::vector<std::pair<std::string, uint64_t>> messages_per_protocol;
  void print(FILE* out) const;
  void add(const ReplayStats& other);  // sums another run's counters into these
};

// This process's peak resident memory so far (kB).
long peakRssKb();

// Receives records in the contract's output order.
using RecordCallback = std::function<void(const l7::Record&)>;
// Receives each record's JSON line (l7/record_json.h, with its '\n'), in
// the same order. Cheaper than records for a JSON Lines writer: records are
// serialized as they complete and held for ordering as text.
using LineCallback = std::function<void(std::string_view line)>;

struct ReplayResult {
  bool ok = true;
  std::string error;  // "FILE: reason" when !ok; records before the error were still delivered
  ReplayStats stats;
};

ReplayResult replayCapture(const std::string& path, const ReplayOptions& options, const RecordCallback& on_record);

ReplayResult replayCaptureLines(const std::string& path, const ReplayOptions& options, const LineCallback& on_line);

// The same for a capture file held in memory (fuzzers, tests).
ReplayResult replayCaptureBytes(std::span<const uint8_t> capture, const ReplayOptions& options,
                                const RecordCallback& on_record);

// Captures live from `interface` (with an optional BPF filter) until `stop`
// becomes true; records are delivered as their sessions complete. Capture
// time is the wall clock, so session timeouts fire while traffic is idle.
ReplayResult replayLive(const std::string& interface, const std::string& bpf_filter, const ReplayOptions& options,
                        const RecordCallback& on_record, const std::atomic<bool>& stop);

// Convenience for tests and properties.
std::vector<l7::Record> replayCaptureToVector(const std::string& path, const ReplayOptions& options,
                                              ReplayResult* result = nullptr);

}  // namespace l7h
