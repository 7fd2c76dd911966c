// Pieces of the replay shared by its single-thread loop (replay.cc) and the
// sharded one (parallel_replay.cc). Not part of the library's interface.
#pragma once

#include <cstdint>

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

// replay --threads (options.threads > 1, a file or bytes, no resegmenting).
ReplayResult runSharded(PcapInput& source, const ReplayOptions& options, ReplayDelivery delivery);

}  // namespace l7h
