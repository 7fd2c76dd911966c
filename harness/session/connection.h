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
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "l7/decoder.h"
#include "session/ordered_output.h"
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
      clear();
    } else if (front_ >= 4096 && front_ >= size()) {
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(front_));
      front_ = 0;
    }
  }
  void clear() {
    buf_.clear();
    front_ = 0;
  }

 private:
  std::vector<uint8_t> buf_;
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
    std::deque<Mark> marks;      // ascending stream offsets
    bool started = false;
    bool ended = false;
    bool feeding = false;        // its feed loop is under way (a wake must not re-enter it)
  };
  struct Pending {
    l7::PairKey key;
    uint64_t context = 0;
    l7::Record record;
    RecordSortKey sort_key;
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
  bool pairWithOrphan(l7::Direction request_dir, const l7::PairKey& key, l7::Record& request);
  void releaseOrphans(bool all);
  std::unordered_map<l7::PairKey, std::deque<uint64_t>, PairKeyHash> by_key_;
};

}  // namespace l7h
