// Records leave the pipeline in the contract's order (spec/l7_flow_log.md,
// "Serialization"): start_time, then flow (client ip, client port, server
// ip, server port), then the order their first message was seen.
//
// Records complete out of that order (a response completes a request that
// started long ago), so they wait in a min-heap until no record that could
// still be produced can sort before them: the session layer advances a
// watermark (the earliest start_time any pending request or buffered byte
// could still give) and everything below it is released. Memory is thus
// bounded by what is in flight, not by the capture's length.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <vector>

#include "capture/memory_budget.h"
#include "capture/stream_events.h"
#include "l7/record.h"

namespace l7h {

struct RecordSortKey {
  int64_t start_time_us = 0;
  Endpoint client;
  Endpoint server;
  uint64_t seen_order = 0;
  auto operator<=>(const RecordSortKey&) const = default;
};

// Heap a record holds: the struct and every string too long to be stored
// inline (an estimate for the memory budget; the allocator's headers are
// counted as 16 bytes per block).
size_t recordFootprint(const l7::Record& r);

class OrderedOutput {
 public:
  using Callback = std::function<void(const l7::Record&)>;
  explicit OrderedOutput(Callback on_record, MemoryBudget* budget = nullptr, size_t max_held = SIZE_MAX)
      : on_record_(std::move(on_record)), budget_(budget), max_held_(max_held) {}
  ~OrderedOutput();

  // Past `max_held` records the pressure hook runs first (the session
  // layer advances its watermark: held records usually wait only for its
  // next periodic advance); if that does not bring the count under the cap,
  // the oldest held records are released at once.
  void push(const RecordSortKey& key, l7::Record&& record);
  void setPressureHook(std::function<void()> hook) { on_pressure_ = std::move(hook); }
  // Releases every record whose start_time is below `watermark_us`.
  void releaseBefore(int64_t watermark_us);
  void releaseAll();
  // Memory relief: releases every held record now; returns how many.
  uint64_t releaseAllEarly();
  size_t held() const { return heap_.size(); }
  uint64_t released() const { return released_; }
  uint64_t releasedEarly() const { return released_early_; }

 private:
  // The heap orders small (key, slot) items; records stay put in slots
  // (reused through a free list), so sifting never moves a Record.
  struct Item {
    RecordSortKey key;
    uint32_t slot;
    uint32_t heap_bytes;  // the record's strings, as counted in the budget
  };
  struct Later {
    bool operator()(const Item& a, const Item& b) const { return a.key > b.key; }
  };
  void releaseTop();
  void accountSlots();

  Callback on_record_;
  MemoryBudget* budget_;
  size_t max_held_;
  uint64_t released_early_ = 0;
  std::function<void()> on_pressure_;
  size_t pushes_since_pressure_ = SIZE_MAX / 2;  // the hook runs at most once per max_held / 4 pushes
  uint64_t accounted_slots_ = 0;  // the slots and the heap's items, as counted
  std::priority_queue<Item, std::vector<Item>, Later> heap_;
  // A deque: it grows one block at a time (no doubling of a vector of
  // ~900-byte records, which both jumps the footprint and moves them all).
  std::deque<l7::Record> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t released_ = 0;
};

}  // namespace l7h
