// Pieces of the replay shared by its single-thread loop (replay.cc) and the
// sharded one (parallel_replay.cc). Not part of the library's interface.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

#include "capture/memory_budget.h"
#include "capture/pcap_input.h"
#include "capture/tcp_flows.h"
#include "session/replay.h"
#include "session/session_builder.h"

namespace l7h {

// Where records go: `on_line` when set, else `on_record`.
struct ReplayDelivery {
  const RecordCallback* on_record = nullptr;
  const LineCallback* on_line = nullptr;
};

CaptureOptions captureOptionsFrom(const ReplayOptions& o, MemoryBudget* budget);
void fillStats(ReplayStats& s, const CaptureStats& c, const SessionBuilder& b);
// Only the packet layer's counters (what replay --threads counts in its reader).
void fillPacketStats(ReplayStats& s, const CaptureStats& c);
// The budget's degrade steps (capture/memory_budget.h), in their order.
void relieveMemory(MemoryBudget& budget, SessionBuilder& builder, PacketPipeline& pipeline, int64_t now_us);

// A one-line progress report on stderr, only when it is a terminal, at most
// a few times per second: show() when due() (cheap: a counter, then a clock).
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO) != 0) {}
  bool due() {
    if (!enabled_ || (++calls_ & 0x3FFF) != 0) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return false;
    last_ = now;
    return true;
  }
  void show(uint64_t packets, uint64_t bytes, uint64_t connections, uint64_t records) {
    shown_ = true;
    std::fprintf(stderr, "\r%llu packets, %.1f MB, %llu connections, %llu records   ",
                 static_cast<unsigned long long>(packets), static_cast<double>(bytes) / 1e6,
                 static_cast<unsigned long long>(connections), static_cast<unsigned long long>(records));
  }
  ~Progress() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool enabled_;
  bool shown_ = false;
  uint64_t calls_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

// replay --threads (options.threads > 1, a file or bytes, no resegmenting).
ReplayResult runSharded(PcapInput& source, const ReplayOptions& options, ReplayDelivery delivery);

}  // namespace l7h
