// replay --threads: connections are sharded over workers by a hash of their
// two endpoints; each worker releases its records in the contract's order
// (session/ordered_output.h) with a watermark: no record it releases later
// starts before it. ShardMerge interleaves those streams back into the one
// order a single thread gives: a shard's first record goes out once it is
// the least of the shards' first records and starts before the watermark of
// every shard that has nothing waiting.
//
// Keys of two shards never tie: equal start time, client and server mean
// one TCP four-tuple, which hashes to one shard; within a shard the seen
// order is the shard's own, as a single thread's would be for those
// connections.
#pragma once

#include <cstdint>
#include <climits>
#include <deque>
#include <utility>
#include <vector>

#include "session/ordered_output.h"

namespace l7h {

template <typename Payload>
class ShardMerge {
 public:
  explicit ShardMerge(size_t shards) : shards_(shards) {}

  // Shard `s` released `payload` (after the ones added before, in its order).
  void add(size_t s, const RecordSortKey& key, Payload payload) {
    shards_[s].queue.push_back(Entry{key, std::move(payload)});
  }
  // Nothing shard `s` releases later starts before `watermark_us`.
  void setWatermark(size_t s, int64_t watermark_us) {
    if (watermark_us > shards_[s].watermark) shards_[s].watermark = watermark_us;
  }
  // Shard `s` will release nothing more.
  void finish(size_t s) { shards_[s].watermark = INT64_MAX; }

  // Hands `out(payload)` every record no shard can still precede, in order;
  // returns how many.
  template <typename Out>
  size_t emit(Out&& out) {
    size_t n = 0;
    for (;;) {
      size_t best = shards_.size();
      for (size_t i = 0; i < shards_.size(); ++i) {
        if (shards_[i].queue.empty()) continue;
        if (best == shards_.size() || shards_[i].queue.front().key < shards_[best].queue.front().key) best = i;
      }
      if (best == shards_.size()) return n;
      const int64_t start = shards_[best].queue.front().key.start_time_us;
      for (const Shard& other : shards_) {
        if (other.queue.empty() && !(start < other.watermark)) return n;
      }
      out(shards_[best].queue.front().payload);
      shards_[best].queue.pop_front();
      ++n;
    }
  }
  size_t waiting() const {
    size_t n = 0;
    for (const Shard& s : shards_) n += s.queue.size();
    return n;
  }

 private:
  struct Entry {
    RecordSortKey key;
    Payload payload;
  };
  struct Shard {
    std::deque<Entry> queue;
    int64_t watermark = INT64_MIN;
  };
  std::vector<Shard> shards_;
};

}  // namespace l7h
