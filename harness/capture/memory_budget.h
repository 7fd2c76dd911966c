// One memory budget for a whole replay (`--memory-limit`, default 1 GiB),
// after Suricata's global stream.memcap: every holder of input-dependent
// memory counts what it holds here, in bytes of its own estimate of the heap
// it uses (payload plus per-entry overhead, not only payload), so one limit
// covers the sum whatever the shape of the input.
//
// Holders: TCP segments held ahead of a hole, bytes held while a
// connection's protocol is unknown, decoder tails (with their packet marks),
// pending requests and orphan responses, records held for output ordering,
// IP fragments and metrics.
//
// When the sum passes the limit, the replay degrades in a stated order (see
// replay.cc, `relieveMemory`), each step until the sum is back under the low
// mark (three quarters of the limit, so the steps do not run again at every
// packet):
//   1. records held for ordering are released at once (output order is then
//      no longer strict for the records that were held);
//   2. the oldest pending requests (of any connection) are written out as
//      type 0, status 5, as if their connection had closed;
//   3. the largest held tails (decoder tails, out-of-order runs, bytes of
//      unrecognized connections) are dropped through the gap path.
// Each step is counted (ReplayStats) and reported once on stderr. When the
// steps cannot get under the low mark (what is left cannot be freed), they
// wait until another sixteenth of the limit is taken. The check runs after
// every packet (and step 1 whenever a record is held), so the overshoot is
// what one packet can add (its payload, the pending requests it brings)
// plus what the estimates do not see; bench/README.md states the margin.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>

namespace l7h {

enum class MemoryHolder : uint8_t {
  kOutOfOrder,    // TCP segments ahead of a hole
  kIpFragments,   // IP fragments waiting for their datagram
  kUnclassified,  // bytes held while a connection's protocol is unknown
  kTails,         // decoder tails and their packet marks
  kPending,       // pending requests, orphan responses
  kOrdering,      // records held for output ordering
  kMetrics,       // replay --metrics accumulators
  kCount
};

// Degrade steps, in the order they are taken.
enum class MemoryStep : uint8_t { kReleaseHeld, kFlushPending, kDropTails, kCount };

class MemoryBudget {
 public:
  static constexpr uint64_t kDefaultLimit = 1ull << 30;

  explicit MemoryBudget(uint64_t limit = kDefaultLimit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  void add(MemoryHolder h, uint64_t n) {
    used_[static_cast<size_t>(h)] += n;
    total_ += n;
    if (total_ > peak_) peak_ = total_;
  }
  void sub(MemoryHolder h, uint64_t n) {
    used_[static_cast<size_t>(h)] -= n;
    total_ -= n;
  }
  // A holder that recomputes its footprint: moves its account from `was` to `now`.
  void set(MemoryHolder h, uint64_t& was, uint64_t now) {
    if (now >= was) {
      add(h, now - was);
    } else {
      sub(h, was - now);
    }
    was = now;
  }

  uint64_t limit() const { return limit_; }
  uint64_t used() const { return total_; }
  uint64_t used(MemoryHolder h) const { return used_[static_cast<size_t>(h)]; }
  uint64_t peak() const { return peak_; }
  bool over() const { return total_ > limit_; }
  // Where a degrade step stops: low enough that the next packets do not
  // start it again at once.
  uint64_t lowMark() const { return limit_ / 4 * 3; }
  bool aboveLowMark() const { return total_ > lowMark(); }

  // Counts one use of a step (`amount`: records, requests or bytes) and
  // says so on stderr the first time.
  void took(MemoryStep step, uint64_t amount);
  uint64_t taken(MemoryStep step) const { return taken_[static_cast<size_t>(step)]; }
  // Another limit than the budget made output order non-strict (the held
  // record count cap): reported once, like a step.
  void noteHeldCountCap(uint64_t records);
  // Bytes the third step dropped.
  void noteDroppedBytes(uint64_t n) { dropped_bytes_ += n; }
  uint64_t droppedBytes() const { return dropped_bytes_; }
  uint64_t heldCountReleases() const { return count_cap_releases_; }

  static const char* holderName(MemoryHolder h);

 private:
  uint64_t limit_;
  uint64_t total_ = 0;
  uint64_t peak_ = 0;
  std::array<uint64_t, static_cast<size_t>(MemoryHolder::kCount)> used_{};
  std::array<uint64_t, static_cast<size_t>(MemoryStep::kCount)> taken_{};
  std::array<bool, static_cast<size_t>(MemoryStep::kCount)> reported_{};
  uint64_t count_cap_releases_ = 0;
  uint64_t dropped_bytes_ = 0;
  bool count_cap_reported_ = false;
};

}  // namespace l7h
