// The session layer's face to the TCP layer: a StreamSink that recognizes
// each connection's protocol and client side, runs a Connection for it, and
// releases records in the contract's order.
//
// Recognition, per connection, from the first bytes seen on either side:
//   1. the TCP handshake, when seen, fixes the client (the SYN sender);
//   2. the registry's probes, in registry order, name the protocol and, when
//      there was no handshake, which side is the client; a protocol whose
//      two sides open alike (ProbeVerdict::kEitherSide) has its client
//      named by the port rule below, else by who spoke first;
//   3. otherwise a side whose port is a protocol's well-known port is the
//      server of that protocol;
//   4. otherwise the connection is left unclassified (counted, no records).
// A connection joined mid-stream (no handshake) starts its decoder with a
// gap on both directions, so the decoder resynchronizes on the first bytes.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "capture/stream_events.h"
#include "session/connection.h"
#include "session/ordered_output.h"
#include "session/replay.h"

namespace l7h {

class SessionBuilder final : public StreamSink {
 public:
  SessionBuilder(const ReplayOptions& options, RecordCallback on_record, MemoryBudget* budget = nullptr);
  // Records leave as JSON lines (OrderedOutput, AsJsonLines).
  SessionBuilder(const ReplayOptions& options, LineCallback on_line, MemoryBudget* budget = nullptr);
  ~SessionBuilder() override;

  void onOpen(const ConnectionInfo& info) override;
  void onData(ConnId id, const DataChunk& chunk) override;
  void onGap(ConnId id, int side, uint64_t missing, int64_t ts_us) override;
  void onSideClosed(ConnId id, int side, int64_t ts_us) override;
  void onClose(ConnId id, int64_t ts_us) override;
  void onClock(int64_t ts_us) override;

  // End of input: close what is still open and release every record.
  void finish();
  // Bytes that will still be delivered later but carry an older time (the
  // TCP layer's out-of-order buffer) hold records back until then.
  void setWatermarkFloor(std::function<int64_t()> floor) { watermark_floor_ = std::move(floor); }

  // Releases every held record no later record can precede, and returns
  // that bound: every record released later starts at or after it.
  int64_t releaseToWatermark() { return advanceWatermark(); }
  // The bound the last release computed (this layer releases on its own
  // every few thousand events and at each timeout sweep): still true, as
  // no record can start before a bound once computed. INT64_MIN before any.
  int64_t lastWatermark() const { return last_watermark_; }
  RecordSortKey releasingKey() const { return output_.releasingKey(); }

  ConnectionCounters counters() const;  // summed over protocols
  uint64_t unclassifiedConnections() const { return unclassified_; }
  std::vector<std::pair<std::string, uint64_t>> messagesPerProtocol() const;
  size_t openConnections() const { return conns_.size(); }
  size_t bufferedBytes() const;

  // Memory relief (capture/memory_budget.h), in the budget's step order.
  // 1: releases every record held for ordering; returns how many.
  uint64_t releaseHeldEarly() { return output_.releaseAllEarly(); }
  uint64_t heldReleasedEarly() const { return output_.releasedEarly(); }
  // 2: writes out the oldest pending requests of all connections (type 0,
  // status 5) until `budget` is under its low mark; returns how many.
  uint64_t flushOldestPending(MemoryBudget& budget);
  // 3: the held tails (decoder tails, bytes of unrecognized connections),
  // each with what it holds and how to drop it through the gap path.
  struct HeldTail {
    uint64_t bytes;
    std::function<void()> drop;
  };
  void heldTails(std::vector<HeldTail>& out);

 private:
  struct HeldChunk {
    int side;
    uint64_t stream_offset;
    uint32_t tcp_seq;
    int64_t ts_us;
    std::vector<uint8_t> bytes;
  };
  struct ConnState {
    ConnectionInfo info;
    bool decided = false;
    bool ignored = false;       // unclassified: bytes are dropped
    int client_side = 0;
    std::unique_ptr<Connection> conn;
    std::vector<HeldChunk> held;  // bytes seen before the protocol is known
    // The same bytes per side, joined as they arrive, so each probe sees a
    // side's whole prefix without re-joining every held chunk (which was
    // cubic in the chunk count for one-byte segments).
    std::vector<uint8_t> held_side_bytes[2];
    int first_held_side = -1;
    size_t held_bytes = 0;
    bool side_closed[2] = {false, false};
    int aligned_side = -1;
    bool saw_data = false;  // side whose first held byte the probe recognized as a message start
    int64_t last_ts_us = 0;
    uint64_t accounted = 0;  // held bytes as counted in the budget
  };

  void tryDecide(ConnState& st, bool force);
  // Decides from the probes, or else the ports, without giving up on the
  // connection (false: nothing tells yet).
  bool decideIfPossible(ConnState& st);
  // Asks each side's probes, the side that spoke first first; `need_more`:
  // some probe wants more bytes.
  bool decideByProbes(ConnState& st, bool& need_more);
  bool decideByProbe(ConnState& st, int side, bool& need_more);
  static void dropHeld(ConnState& st);
  bool decideByPort(ConnState& st);
  void start(ConnState& st, const l7::DecoderInfo* decoder, int client_side, ClientRule rule);
  l7::Direction directionOf(const ConnState& st, int side) const {
    return side == st.client_side ? l7::Direction::kToServer : l7::Direction::kToClient;
  }
  void deliver(ConnState& st, const HeldChunk& chunk);
  int64_t advanceWatermark();
  // Tells the budget what `st` holds while its protocol is unknown.
  void syncHeld(ConnState& st);
  void init();

  const ReplayOptions& options_;
  MemoryBudget* budget_;
  OrderedOutput output_;
  uint64_t seen_counter_ = 0;
  std::unordered_map<const l7::DecoderInfo*, ConnectionCounters> per_protocol_;
  uint64_t unclassified_ = 0;
  std::unordered_map<ConnId, ConnState> conns_;
  std::span<const l7::DecoderInfo> decoders_;  // probe order
  const l7::DecoderInfo* forced_ = nullptr;
  int64_t clock_us_ = 0;
  int64_t last_sweep_us_ = 0;
  uint64_t events_since_watermark_ = 0;
  int64_t last_watermark_ = INT64_MIN;
  std::function<int64_t()> watermark_floor_;
};

}  // namespace l7h
