// Packets → per-connection, per-side ordered byte streams (StreamSink).
//
// Per side: the initial sequence number comes from the SYN (or the SYN-ACK's
// acknowledgement) or, joined mid-stream, from the first segment seen. Bytes
// are delivered in order; segments ahead of a hole wait (bounded per
// connection); retransmitted and overlapping bytes are dropped, keeping the
// first copy. A hole becomes a gap when it can no longer be filled: the
// out-of-order buffer is full, the peer acknowledged past it, the side
// closed, or the input ended. Sequence numbers wrap (32-bit arithmetic).
//
// The connection table is bounded: idle connections close after a timeout on
// the capture clock, and when full the least recently active is evicted.
#pragma once

#include <cstdint>
#include <list>
#include <climits>
#include <map>
#include <set>
#include <span>
#include <memory>
#include <unordered_map>
#include <vector>

#include "capture/memory_budget.h"
#include "capture/packet_layers.h"
#include "capture/stream_events.h"

namespace l7h {

struct CaptureOptions {
  uint32_t max_connections = 100'000;
  int64_t idle_timeout_us = 300'000'000;
  // Out-of-order bytes held per connection, each held run counted with its
  // bookkeeping (kHeldRunOverhead), so 1-byte segments cannot hold 170 B
  // of heap per byte counted.
  uint32_t max_buffered_per_connection = 8u << 20;
  MemoryBudget* budget = nullptr;  // the replay's; out-of-order runs count against it
};

struct CaptureStats {
  uint64_t packets = 0, bytes = 0, non_tcp = 0, truncated = 0, fragments = 0, reassembled_datagrams = 0;
  uint64_t bad_packets = 0, connections = 0, evicted = 0, retransmitted_bytes = 0, overlapping_segments = 0;
  uint64_t out_of_order_segments = 0, gaps = 0, gap_bytes = 0;
};

class PacketPipeline {
 public:
  PacketPipeline(StreamSink& sink, const CaptureOptions& options, CaptureStats& stats);
  ~PacketPipeline();
  void onPacket(const RawPacket& packet);
  // A TCP segment another thread decoded from a packet (replay --threads):
  // as onPacket from there on. `seg.ts_us` is already on the monotonic
  // clock; a connection the segment opens gets `id_if_opened` as its id.
  void onSegment(const TcpSegment& seg, ConnId id_if_opened);
  // Time passes without a packet (live capture, nothing arrived): idle
  // connections close and the sessions see the clock, as a packet would do.
  void onClock(int64_t now_us);
  // End of input: flush every connection (holes become gaps) and close them
  // in flow_id order.
  void finish();
  size_t openConnections() const { return table_.size(); }
  size_t bufferedBytes() const { return buffered_total_; }
  // Timestamp of the oldest out-of-order segment still held (INT64_MAX if
  // none): its bytes will reach the session layer later but keep this time,
  // so records must not be released past it.
  int64_t earliestHeldTs() const { return held_ts_.empty() ? INT64_MAX : *held_ts_.begin(); }

  // Heap one held run costs beside its bytes: its map node, vector and
  // time stamp entry, with the allocator's headers (measured: 1-byte runs
  // took about 170 B each).
  static constexpr size_t kHeldRunOverhead = 160;
  // Memory relief (MemoryBudget, step 3): each connection side holding
  // out-of-order runs, with what they cost; dropHeld declares that side's
  // holes gaps (its held runs go on to the decoder).
  // The connection is opaque to the caller and valid until the next packet.
  struct HeldSide {
    uint64_t cost;
    void* conn;
    int side;
  };
  void heldSides(std::vector<HeldSide>& out);
  void dropHeld(const HeldSide& held, int64_t now_us);

 private:
  struct Side {
    bool seq_known = false;
    uint32_t next_seq = 0;        // sequence number of the next byte to deliver
    uint64_t next_offset = 0;     // stream offset of that byte
    std::map<uint64_t, std::pair<std::vector<uint8_t>, std::pair<int64_t, uint32_t>>> ahead;  // offset → bytes, (ts, seq)
    size_t ahead_bytes = 0;       // held runs' cost: bytes + kHeldRunOverhead each
    bool fin = false;
    bool closed = false;          // onSideClosed sent
    uint32_t fin_seq = 0;
  };
  struct FlowKey {
    Endpoint a, b;  // a < b
    bool operator==(const FlowKey&) const = default;
  };
  struct FlowKeyHash {
    size_t operator()(const FlowKey& k) const noexcept;
  };
  struct Conn {
    ConnectionInfo info;
    Side side[2];
    int64_t last_ts_us = 0;
    std::list<FlowKey>::iterator lru;
  };

  void handleSegment(const TcpSegment& seg);
  Conn* openConnection(const FlowKey& key, const TcpSegment& seg, int64_t ts);
  void acceptData(Conn& c, int s, const TcpSegment& seg);
  void deliver(Conn& c, int s, uint64_t offset, uint32_t seq, int64_t ts, std::span<const uint8_t> data);
  void drainAhead(Conn& c, int s);
  void holdAhead(Conn& c, int s, uint64_t offset, uint32_t seq, int64_t ts, std::span<const uint8_t> data);
  void gapToFirstAhead(Conn& c, int s, int64_t ts);
  void gapTo(Conn& c, int s, uint64_t offset, int64_t ts);
  void flushSide(Conn& c, int s, int64_t ts);
  void closeSide(Conn& c, int s, int64_t ts);
  void closeConnection(const FlowKey& key, int64_t ts, bool evicted);
  void expireIdle(int64_t now);
  void touch(Conn& c);
  void accountHeld(int64_t delta);

  StreamSink& sink_;
  CaptureOptions options_;
  CaptureStats& stats_;
  LayerCounters layer_counters_;
  PacketLayers layers_;
  std::unordered_map<FlowKey, std::unique_ptr<Conn>, FlowKeyHash> table_;
  std::list<FlowKey> lru_;  // front = least recently active
  uint64_t next_flow_id_ = 1;
  int64_t last_idle_sweep_us_ = 0;
  size_t buffered_total_ = 0;  // payload held out of order
  std::multiset<int64_t> held_ts_;
  // Packet times only move forward: a capture whose timestamps step back
  // (merged interfaces, clock adjustments) is read on a monotonic clock, so
  // records can be released in start_time order.
  int64_t clock_us_ = INT64_MIN;
  uint64_t clock_corrections_ = 0;
 public:
  uint64_t clockCorrections() const { return clock_corrections_; }
};

}  // namespace l7h
