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
#include <string>
#include <string_view>
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

// Asks OrderedOutput for JSON lines rather than records.
struct AsJsonLines {};

class OrderedOutput {
 public:
  using Callback = std::function<void(const l7::Record&)>;
  using LineCallback = std::function<void(std::string_view line)>;
  explicit OrderedOutput(Callback on_record, MemoryBudget* budget = nullptr, size_t max_held = SIZE_MAX)
      : on_record_(std::move(on_record)), budget_(budget), max_held_(max_held) {}
  // Each record is serialized to its JSON line (l7/record_json.h) as it is
  // pushed, while it is still in cache, and held as that text (about 700
  // bytes, against a Record's 900 plus its strings); released lines go to
  // `on_line` in the same order records would. For writers of JSON Lines.
  OrderedOutput(AsJsonLines, LineCallback on_line, MemoryBudget* budget = nullptr, size_t max_held = SIZE_MAX)
      : on_line_(std::move(on_line)), lines_mode_(true), budget_(budget), max_held_(max_held) {}
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
  // During a callback: the sort key of the record being released.
  RecordSortKey releasingKey() const {
    return RecordSortKey{releasing_.start_time_us, meta_[releasing_.slot].client, meta_[releasing_.slot].server,
                         releasing_.seen_order};
  }
  uint64_t released() const { return released_; }
  uint64_t releasedEarly() const { return released_early_; }

 private:
  // The heap orders small items (24 bytes: start time, seen order, slot);
  // records stay put in slots (reused through a free list), so sifting
  // never moves a Record. The flow, the middle of the sort key, is looked
  // up in the slot only when two start times tie: most comparisons are two
  // integer compares, and a held set of 100k items stays about 2.4 MB
  // (the whole key was 64 bytes per item, with a byte-wise address compare).
  struct Item {
    int64_t start_time_us;
    uint64_t seen_order;
    uint32_t slot;
  };
  struct SlotMeta {
    Endpoint client;
    Endpoint server;
    uint32_t heap_bytes = 0;  // the record's strings, as counted in the budget
  };
  struct Later {
    const std::vector<SlotMeta>* meta;
    bool operator()(const Item& a, const Item& b) const {
      if (a.start_time_us != b.start_time_us) return a.start_time_us > b.start_time_us;
      const SlotMeta& ma = (*meta)[a.slot];
      const SlotMeta& mb = (*meta)[b.slot];
      if (ma.client != mb.client) return ma.client > mb.client;
      if (ma.server != mb.server) return ma.server > mb.server;
      return a.seen_order > b.seen_order;
    }
  };
  void releaseTop();
  void accountSlots();

  Callback on_record_;
  LineCallback on_line_;
  bool lines_mode_ = false;
  MemoryBudget* budget_;
  size_t max_held_;
  uint64_t released_early_ = 0;
  std::function<void()> on_pressure_;
  size_t pushes_since_pressure_ = SIZE_MAX / 2;  // the hook runs at most once per max_held / 4 pushes
  uint64_t accounted_slots_ = 0;  // the slots, their metadata and the heap's items, as counted
  std::vector<SlotMeta> meta_;    // by slot
  std::vector<Item> heap_;        // a binary min-heap under Later
  Item releasing_{};
  // A deque: it grows one block at a time (no doubling of a vector of
  // ~900-byte records, which both jumps the footprint and moves them all).
  std::deque<l7::Record> slots_;  // records mode
  // Lines mode: a released line keeps its capacity for the slot's next
  // record (no allocation per record); the capacity stays counted in the
  // budget until the string is freed.
  std::deque<std::string> lines_;
  static constexpr size_t kKeepLineCapacity = 4096;
  std::vector<char> scratch_;  // a line is written here first (recordJsonBound bytes)
  size_t slotCount() const { return lines_mode_ ? lines_.size() : slots_.size(); }
  std::vector<uint32_t> free_slots_;
  uint64_t released_ = 0;
};

}  // namespace l7h
