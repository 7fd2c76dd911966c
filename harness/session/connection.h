// One TCP connection whose protocol and client side are known: drives the
// decoder through the consume / need-more contract of l7/decoder.h, maps
// message offsets back to packet timestamps and TCP sequence numbers, and
// pairs requests with responses.
//
// Buffering: each direction keeps only the bytes the decoder has not
// consumed yet. When nothing is buffered a new chunk is fed straight from
// the packet (zero copy); only an unconsumed remainder is copied. A tail is
// never allowed past limits.max_buffered_bytes: a decoder that asks for more
// has broken its contract, and the bytes are dropped as a gap (counted).
// A decoder that learned state its peer's held bytes wait for
// (FeedResult::wake_peer) has the peer's tail fed at once; marks stay
// for messages a decoder holds open (FeedResult::holds_from).
//
// Pairing: pending requests wait under their PairKey (FIFO per key). A
// response completes the oldest request with its key; with none it becomes
// a type 1 record, unless the other direction still holds undecoded bytes
// from before it: then it waits for a request decoded from them. Pending
// requests are bounded (the oldest is written out as type 0 when the bound
// is hit) and expire after the session timeout on the capture clock (type
// 0, status 2).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "capture/memory_budget.h"
#include "l7/decoder.h"
#include "session/ordered_output.h"
#include "session/packed_fields.h"
#include "session/record_merge.h"
#include "session/replay.h"

namespace l7h {

struct ConnectionCounters {
  uint64_t messages = 0;
  uint64_t parse_failures = 0;
  uint64_t records = 0;
  uint64_t timeouts = 0;
  uint64_t pending_evicted = 0;
  uint64_t contract_violations = 0;  // decoder asked for more than the cap, or over-consumed
  uint64_t skipped_bytes = 0;
  // Connections whose client was named by the port, or by who spoke first
  // (ClientRule), rather than by a handshake or a probe.
  uint64_t client_by_port = 0;
  uint64_t client_by_first_speaker = 0;
  uint64_t decompression_budget_hits = 0;  // l7::CapHit::kDecompressionBudget
};

// Shared by all connections of one replay: where records go and the global
// "first seen" counter that breaks ordering ties.
struct ConnectionOutput {
  OrderedOutput* output = nullptr;
  uint64_t* seen_counter = nullptr;
  ConnectionCounters* counters = nullptr;
  MemoryBudget* budget = nullptr;  // tails, pending requests and orphans count against it
};

// Unconsumed bytes of one direction. Consuming from the front moves an
// index; the storage is compacted only once the consumed part is as large as
// the rest, so a decoder that consumes a little at a time from a long held
// tail costs amortized O(1) per byte, not a move of the whole tail each time.
class HeldBytes {
 public:
  bool empty() const { return front_ == buf_.size(); }
  size_t size() const { return buf_.size() - front_; }
  l7::Bytes view() const { return l7::Bytes(buf_.data() + front_, size()); }
  void append(l7::Bytes b) {
    if (empty()) clear();
    buf_.insert(buf_.end(), b.begin(), b.end());
  }
  void assign(l7::Bytes b) {
    buf_.assign(b.begin(), b.end());
    front_ = 0;
  }
  void consume(size_t n) {
    front_ += n;
    if (front_ >= buf_.size()) {
      release();
    } else if (front_ >= 4096 && front_ >= size()) {
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(front_));
      front_ = 0;
    }
  }
  void clear() {
    buf_.clear();
    front_ = 0;
  }
  // Empty, and a large buffer (a long message's) goes back to the heap
  // rather than stay with the connection for its lifetime.
  void release() {
    clear();
    if (buf_.capacity() > kKeepCapacity) buf_.shrink_to_fit();
  }
  size_t capacity() const { return buf_.capacity(); }

 private:
  static constexpr size_t kKeepCapacity = 64 * 1024;
  std::vector<uint8_t> buf_;
  size_t front_ = 0;
};

// A FIFO of small items consumed from the front by an index: the packet
// marks of one side. (A std::deque allocates about 600 bytes per side even
// while empty, and most sides hold one mark or none.)
template <typename T>
class FrontQueue {
 public:
  bool empty() const { return front_ == v_.size(); }
  size_t size() const { return v_.size() - front_; }
  size_t capacity() const { return v_.capacity(); }
  const T& front() const { return v_[front_]; }
  const T& operator[](size_t i) const { return v_[front_ + i]; }
  auto begin() const { return v_.begin() + static_cast<std::ptrdiff_t>(front_); }
  auto end() const { return v_.end(); }
  void push_back(const T& item) { v_.push_back(item); }
  void pop_front() {
    if (++front_ == v_.size()) {
      clear();
    } else if (front_ >= 64 && 2 * front_ >= v_.size()) {
      v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(front_));
      front_ = 0;
    }
  }
  void clear() {
    v_.clear();
    front_ = 0;
    if (v_.capacity() > 256) std::vector<T>().swap(v_);  // a long tail's marks go back to the heap
  }

 private:
  std::vector<T> v_;
  size_t front_ = 0;
};

class Connection final : public l7::MessageSink {
 public:
  // `options` is kept by reference (one copy per replay, not per
  // connection) and must outlive the connection: a temporary is refused.
  Connection(const FlowColumns& flow, const ReplayOptions& options, ConnectionOutput out);
  Connection(const FlowColumns& flow, ReplayOptions&& options, ConnectionOutput out) = delete;
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Bytes of `dir` in stream order; `stream_offset` is data[0]'s position.
  void data(l7::Direction dir, uint64_t stream_offset, uint32_t tcp_seq, int64_t ts_us, l7::Bytes data);
  // `missing` bytes of `dir` are lost (0: unknown amount).
  void gap(l7::Direction dir, uint64_t missing);
  // No more bytes for `dir`.
  void endOfStream(l7::Direction dir);
  // Capture clock: expire requests older than the session timeout.
  void expire(int64_t now_us);
  // End of the connection: flush what the decoder holds and every pending request.
  void close();

  // Earliest start_time a record of this connection could still get: the
  // oldest pending request or the oldest buffered byte. INT64_MAX if none.
  int64_t earliestOpenStart() const;
  size_t bufferedBytes() const;
  size_t pendingRequests() const { return pending_.size(); }
  // Start time of the oldest pending request (INT64_MAX if none).
  int64_t oldestPendingStart() const;
  // Start time of the first pending request in seen order, else of the
  // first orphan response (INT64_MAX if none): cheap, for relief order.
  int64_t firstPendingStart() const;
  bool holdsPendingOrOrphans() const { return !pending_.empty() || !orphans_.empty(); }
  // Memory relief (MemoryBudget step 2): writes the oldest pending request
  // out as type 0, status 5, as at the end of the connection; with none,
  // the orphan responses go out alone. False when there was nothing.
  bool flushOldestPending();
  // Memory relief (step 3): the larger held tail of the two sides, and
  // dropping it through the gap path (the decoder is told, as for a hole).
  size_t largestTail(l7::Direction& dir) const;
  void dropTail(l7::Direction dir);
  // Bytes this connection holds, by the same estimates the budget uses.
  uint64_t accountedBytes() const { return accounted_tails_ + accounted_pending_; }
  // Tells the budget what the tails, marks, pending requests and orphans
  // hold now (called where they change: the end of each entry point).
  void syncBudget();
  const FlowColumns& flow() const { return flow_; }

  void onMessage(l7::Direction dir, l7::Message&& msg) override;
  std::optional<uint64_t> pendingContext(const l7::PairKey& key) const override;
  void onCapHit(l7::CapHit hit) override;

 private:
  // Where a run of buffered bytes came from, to place messages in time.
  struct Mark {
    uint64_t stream_offset;
    uint32_t tcp_seq;
    int64_t ts_us;
  };
  struct Side {
    HeldBytes tail;              // unconsumed bytes, the first at tail_offset
    uint64_t tail_offset = 0;    // stream offset of tail[0] (or of the next byte when empty)
    uint32_t needed = 0;         // decoder's minimum tail size before the next feed
    uint64_t skip = 0;           // bytes still to drop unseen (oversized frame)
    uint64_t holds_from = l7::kHoldsNothing;  // first byte of the oldest message held open
    FrontQueue<Mark> marks;      // ascending stream offsets
    bool marks_out_of_time_order = false;  // a mark is older than one before it
    bool started = false;
    bool ended = false;
    bool feeding = false;        // its feed loop is under way (a wake must not re-enter it)
  };
  // A request waiting for its answer, kept small: its fields packed, its
  // record built only when it leaves (buildRecord).
  struct Pending {
    l7::PairKey key;
    uint64_t context = 0;
    int64_t start_us = 0;
    uint32_t tcp_seq = 0;
    uint32_t wire_size = 0;
    uint64_t next_same_key = 0;  // the next pending order with this key (0: none)
    l7::Direction dir = l7::Direction::kToServer;
    PackedFields fields;
  };
  // Pending orders of one key, oldest first: a list threaded through
  // Pending::next_same_key (a std::deque per key cost over 600 B per key).
  struct KeyQueue {
    uint64_t first = 0;
    uint64_t last = 0;
  };
  struct PairKeyHash {
    size_t operator()(const l7::PairKey& k) const noexcept {
      return std::hash<uint64_t>()((k.id * 0x9E3779B97F4A7C15ull ^ k.id2) * 0xC2B2AE3D27D4EB4Full ^ k.lane);
    }
  };

  Side& side(l7::Direction d) { return sides_[static_cast<int>(d)]; }
  void feedSide(l7::Direction dir, l7::Bytes view, bool from_tail);
  // `dir` learned state the peer's held bytes need: feed them now.
  void wakePeer(l7::Direction dir);
  void merge(l7::Record& request, l7::Record&& response) const;
  void pruneMarks(Side& s);
  MessagePlacement place(l7::Direction dir, uint64_t stream_offset) const;
  void emit(RecordSortKey key, l7::Record&& record);
  void flushPending(uint64_t order, l7::ResponseStatus override_status, bool use_override);
  bool expiredAt(const Pending& p, int64_t now_us) const;
  l7::Record buildRecord(Pending& p) const;
  RecordSortKey sortKeyOf(uint64_t order, const Pending& p) const {
    return RecordSortKey{p.start_us, flow_.client, flow_.server, order};
  }
  // Takes `order` out of its key's queue.
  void unlinkFromKey(const l7::PairKey& key, uint64_t order, uint64_t next);
  static uint64_t pendingCost(const Pending& p) { return kPendingEntryCost + p.fields.heapBytes(); }
  RecordSortKey sortKeyFor(int64_t start_us);

  FlowColumns flow_;
  const ReplayOptions& options_;
  ConnectionOutput out_;
  std::unique_ptr<l7::Decoder> decoder_;
  Side sides_[2];
  // Pending requests by first-seen order (oldest first) and by key.
  std::map<uint64_t, Pending> pending_;
  // Responses that found no request while the other direction still held
  // undecoded bytes from before them (a decoder resynchronizing there, or
  // waiting to confirm a start): their request may be among those bytes.
  // Each waits until it is answered or the other side holds nothing older.
  struct Orphan {
    l7::Direction dir;
    l7::PairKey key;
    l7::Record record;
  };
  std::vector<Orphan> orphans_;  // a vector: no allocation while empty (one per connection)
  static constexpr size_t kMaxOrphans = 64;
  bool mayAnswerHeldRequest(l7::Direction response_dir, int64_t response_ts) const;
  // The waiting response a request decoded now completes (orphans_.size() if none).
  size_t findOrphan(l7::Direction request_dir, const l7::PairKey& key, int64_t request_start) const;
  void releaseOrphans(bool all);
  std::unordered_map<l7::PairKey, KeyQueue, PairKeyHash> by_key_;
  // A pending entry's heap beside its packed fields: the map node (with
  // the allocator's header) and its share of the key index.
  static constexpr uint64_t kPendingEntryCost = sizeof(Pending) + 48 + 32;
  uint64_t pending_cost_ = 0;  // sum of pendingCost over pending_, plus the orphans
  uint64_t accounted_tails_ = 0;
  uint64_t accounted_pending_ = 0;
};

}  // namespace l7h
