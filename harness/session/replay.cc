// replayCapture / replayLive: the capture layer (packets → TCP streams)
// glued to the session layer (streams → records), with counters and a
// progress line for long inputs.
#include "session/replay.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>

#include "capture/memory_budget.h"
#include "capture/pcap_input.h"
#include "capture/tcp_flows.h"
#include "session/replay_internal.h"
#include "session/resegmenting_sink.h"
#include "session/session_builder.h"

namespace l7h {

CaptureOptions captureOptionsFrom(const ReplayOptions& o, MemoryBudget* budget) {
  CaptureOptions c;
  c.budget = budget;
  c.max_connections = o.max_connections;
  c.idle_timeout_us = o.idle_timeout_us;
  c.max_buffered_per_connection = o.max_buffered_per_connection;
  return c;
}

void fillPacketStats(ReplayStats& s, const CaptureStats& c) {
  s.packets = c.packets;
  s.bytes = c.bytes;
  s.non_tcp_packets = c.non_tcp;
  s.truncated_packets = c.truncated;
  s.ip_fragments = c.fragments;
  s.reassembled_datagrams = c.reassembled_datagrams;
  s.bad_packets = c.bad_packets;
}

void fillStats(ReplayStats& s, const CaptureStats& c, const SessionBuilder& b) {
  fillPacketStats(s, c);
  s.connections = c.connections;
  s.evicted_connections = c.evicted;
  s.retransmitted_bytes = c.retransmitted_bytes;
  s.overlapping_segments = c.overlapping_segments;
  s.out_of_order_segments = c.out_of_order_segments;
  s.gaps = c.gaps;
  s.gap_bytes = c.gap_bytes;
  const ConnectionCounters counters = b.counters();
  s.unclassified_connections = b.unclassifiedConnections();
  s.messages = counters.messages;
  s.parse_failures = counters.parse_failures;
  s.records = counters.records;
  s.timeouts = counters.timeouts;
  s.pending_evicted = counters.pending_evicted;
  s.clients_by_port = counters.client_by_port;
  s.clients_by_first_speaker = counters.client_by_first_speaker;
  s.decompression_budget_hits = counters.decompression_budget_hits;
  s.messages_per_protocol = b.messagesPerProtocol();
}

// Each step only while the sum is still over the low mark.
void relieveMemory(MemoryBudget& budget, SessionBuilder& builder, PacketPipeline& pipeline, int64_t now_us) {
  budget.took(MemoryStep::kReleaseHeld, builder.releaseHeldEarly());
  if (!budget.aboveLowMark()) return;
  budget.took(MemoryStep::kFlushPending, builder.flushOldestPending(budget));
  if (!budget.aboveLowMark()) return;
  // Step 3: the largest tails first, wherever they are held.
  struct Tail {
    uint64_t bytes;
    std::function<void()> drop;
  };
  std::vector<Tail> tails;
  std::vector<PacketPipeline::HeldSide> held;
  pipeline.heldSides(held);
  for (const auto& h : held) tails.push_back(Tail{h.cost, [&pipeline, h, now_us] { pipeline.dropHeld(h, now_us); }});
  std::vector<SessionBuilder::HeldTail> session_tails;
  builder.heldTails(session_tails);
  for (auto& t : session_tails) tails.push_back(Tail{t.bytes, std::move(t.drop)});
  std::sort(tails.begin(), tails.end(), [](const Tail& a, const Tail& b) { return a.bytes > b.bytes; });
  uint64_t dropped = 0, dropped_bytes = 0;
  for (const Tail& t : tails) {
    if (!budget.aboveLowMark()) break;
    t.drop();
    ++dropped;
    dropped_bytes += t.bytes;
  }
  budget.took(MemoryStep::kDropTails, dropped);
  budget.noteDroppedBytes(dropped_bytes);
  // What the drops decoded went to ordering.
  budget.took(MemoryStep::kReleaseHeld, builder.releaseHeldEarly());
}

namespace {

using Delivery = ReplayDelivery;

ReplayResult run(PcapInput& source, const ReplayOptions& options, Delivery delivery, const std::atomic<bool>* stop) {
  ReplayResult result;
  std::optional<MemoryBudget> own_budget;
  MemoryBudget* budget = options.budget;
  if (budget == nullptr) budget = &own_budget.emplace(options.memory_limit_bytes);
  // A shared budget carries earlier runs' counts: this run's are the difference.
  const uint64_t flushed_before = budget->taken(MemoryStep::kFlushPending);
  const uint64_t dropped_before = budget->taken(MemoryStep::kDropTails);
  const uint64_t dropped_bytes_before = budget->droppedBytes();
  std::optional<SessionBuilder> built;
  if (delivery.on_line != nullptr) {
    built.emplace(options, *delivery.on_line, budget);
  } else {
    built.emplace(options, *delivery.on_record, budget);
  }
  SessionBuilder& builder = *built;
  std::optional<ResegmentingSink> resegmenter;
  StreamSink* sink = &builder;
  if (options.resegment_max > 0) {
    resegmenter.emplace(builder, options.resegment_max, options.resegment_seed);
    sink = &*resegmenter;
  }
  CaptureStats capture_stats;
  PacketPipeline pipeline(*sink, captureOptionsFrom(options, budget), capture_stats);
  builder.setWatermarkFloor([&pipeline] { return pipeline.earliestHeldTs(); });
  Progress progress(options.progress);
  uint64_t relief_floor = 0;
  RawPacket packet;
  while (stop == nullptr || !stop->load(std::memory_order_relaxed)) {
    const int got = source.next(packet);
    if (got < 0) {
      result.ok = false;
      result.error = source.error();
      break;
    }
    if (got == 0) {
      if (!source.isLive()) break;
      // Live capture and nothing arrived: let sessions time out and idle
      // connections close on the wall clock.
      pipeline.onClock(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
      continue;
    }
    pipeline.onPacket(packet);
    if (budget->over() && budget->used() > relief_floor) {
      relieveMemory(*budget, builder, pipeline, packet.ts_us);
      // What the steps could not free (fixed holders: metrics, the last
      // tails) would start them again at every packet, each a walk of all
      // connections: wait until another sixteenth of the limit is taken.
      relief_floor = budget->aboveLowMark() ? budget->used() + budget->limit() / 16 : 0;
    }
    if (progress.due()) {
      progress.show(capture_stats.packets, capture_stats.bytes, capture_stats.connections, builder.counters().records);
    }
  }
  pipeline.finish();
  builder.finish();
  fillStats(result.stats, capture_stats, builder);
  ReplayStats& st = result.stats;
  st.held_released_early = builder.heldReleasedEarly();
  st.pending_flushed_for_memory = budget->taken(MemoryStep::kFlushPending) - flushed_before;
  st.tails_dropped_for_memory = budget->taken(MemoryStep::kDropTails) - dropped_before;
  st.tail_bytes_dropped_for_memory = budget->droppedBytes() - dropped_bytes_before;
  st.memory_accounted_peak = budget->peak();
  return result;
}

}  // namespace

namespace {

ReplayResult runOrFail(std::unique_ptr<PcapInput> source, const std::string& error, const ReplayOptions& options,
                       Delivery delivery, const std::atomic<bool>* stop) {
  if (!source) {
    ReplayResult r;
    r.ok = false;
    r.error = error;
    return r;
  }
  if (options.threads > 1 && stop == nullptr && options.resegment_max == 0) {
    return runSharded(*source, options, delivery);
  }
  return run(*source, options, delivery, stop);
}

}  // namespace

ReplayResult replayCapture(const std::string& path, const ReplayOptions& options, const RecordCallback& on_record) {
  std::string error;
  auto source = PcapInput::openFile(path, error, options.bpf_filter);
  return runOrFail(std::move(source), error, options, Delivery{&on_record, nullptr}, nullptr);
}

ReplayResult replayCaptureLines(const std::string& path, const ReplayOptions& options, const LineCallback& on_line) {
  std::string error;
  auto source = PcapInput::openFile(path, error, options.bpf_filter);
  return runOrFail(std::move(source), error, options, Delivery{nullptr, &on_line}, nullptr);
}

ReplayResult replayCaptureBytes(std::span<const uint8_t> capture, const ReplayOptions& options,
                                const RecordCallback& on_record) {
  std::string error;
  auto source = PcapInput::openMemory(capture, error);
  return runOrFail(std::move(source), error, options, Delivery{&on_record, nullptr}, nullptr);
}

ReplayResult replayLive(const std::string& interface, const std::string& bpf_filter, const ReplayOptions& options,
                        const RecordCallback& on_record, const std::atomic<bool>& stop) {
  std::string error;
  auto source = PcapInput::openLive(interface, bpf_filter, error);
  return runOrFail(std::move(source), error, options, Delivery{&on_record, nullptr}, &stop);
}

std::vector<l7::Record> replayCaptureToVector(const std::string& path, const ReplayOptions& options,
                                              ReplayResult* result) {
  std::vector<l7::Record> records;
  ReplayResult r = replayCapture(path, options, [&](const l7::Record& rec) { records.push_back(rec); });
  if (result != nullptr) *result = std::move(r);
  return records;
}

}  // namespace l7h
