#include "session/ordered_output.h"

#include <algorithm>

#include "l7/record_json.h"

namespace l7h {
namespace {

size_t stringHeap(const std::string& s) {
  // libstdc++ keeps up to 15 characters inline.
  return s.capacity() > 15 ? s.capacity() + 1 + 16 : 0;
}

}  // namespace

size_t recordHeapBytes(const l7::Record& r) {
  size_t n = 0;
  for (const std::string* s : {&r.ip4_0, &r.ip4_1, &r.ip6_0, &r.ip6_1, &r.l7_protocol_str, &r.app_service,
                               &r.app_instance, &r.observation_point}) {
    n += stringHeap(*s);
  }
  const l7::L7Fields& f = r.f;
  for (const std::string* s : {&f.version, &f.request_type, &f.request_domain, &f.request_resource, &f.endpoint,
                               &f.response_exception, &f.response_result, &f.trace_id, &f.trace_id_2, &f.span_id,
                               &f.parent_span_id, &f.x_request_id_0, &f.x_request_id_1, &f.events}) {
    n += stringHeap(*s);
  }
  if (!f.attributes.empty()) {
    n += f.attributes.capacity() * sizeof(l7::Attribute) + 16;
    for (const l7::Attribute& a : f.attributes) n += stringHeap(a.name) + stringHeap(a.value);
  }
  return n;
}

size_t recordFootprint(const l7::Record& r) { return sizeof(l7::Record) + recordHeapBytes(r); }

OrderedOutput::~OrderedOutput() {
  if (budget_ == nullptr) return;
  // Held records' strings, and in lines mode the capacity free slots keep.
  for (const SlotMeta& m : meta_) budget_->sub(MemoryHolder::kOrdering, m.heap_bytes);
  budget_->set(MemoryHolder::kOrdering, accounted_slots_, 0);
}

void OrderedOutput::accountSlots() {
  // The slots stay allocated between bursts (reused, not regrown): they
  // count whether they hold a record or not, with their metadata, a heap
  // item and a free-list entry each.
  if (budget_ != nullptr) {
    budget_->set(MemoryHolder::kOrdering, accounted_slots_,
                 slotCount() * ((lines_mode_ ? sizeof(std::string) : sizeof(l7::Record)) + 16 + sizeof(SlotMeta) +
                                sizeof(Item) + sizeof(uint32_t)));
  }
}

void OrderedOutput::push(const RecordSortKey& key, l7::Record&& record) {
  uint32_t slot;
  const bool fresh = free_slots_.empty();
  if (!fresh) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slotCount());
    if (lines_mode_) {
      lines_.emplace_back();
    } else {
      slots_.emplace_back();
    }
    meta_.emplace_back();
    accountSlots();
  }
  uint32_t bytes = 0;
  if (lines_mode_) {
    // Serialized into scratch first, so a line that outgrows its slot's
    // string gets exactly its size (appending would double the capacity:
    // held lines would take about a third more memory).
    scratch_.resize(std::max(scratch_.size(), l7::recordJsonBound(record)));
    const size_t size = static_cast<size_t>(l7::writeRecordJson(record, scratch_.data()) - scratch_.data());
    std::string& line = lines_[slot];
    if (size > line.capacity()) {
      std::string().swap(line);
      line.reserve(size);
    }
    line.assign(scratch_.data(), size);
    if (scratch_.size() > (1u << 20)) std::vector<char>().swap(scratch_);  // a huge record's bound is not kept
    bytes = static_cast<uint32_t>(stringHeap(line));
  } else {
    if (budget_ != nullptr) bytes = static_cast<uint32_t>(recordHeapBytes(record));
    slots_[slot] = std::move(record);
  }
  if (budget_ != nullptr) {
    // A reused line's earlier capacity was still counted.
    budget_->sub(MemoryHolder::kOrdering, meta_[slot].heap_bytes);
    budget_->add(MemoryHolder::kOrdering, bytes);
  }
  SlotMeta& m = meta_[slot];
  m.client = key.client;
  m.server = key.server;
  m.heap_bytes = budget_ != nullptr ? bytes : 0;
  heap_.push_back(Item{key.start_time_us, key.seen_order, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later{&meta_});
  ++pushes_since_pressure_;
  if (budget_ != nullptr && budget_->over()) {
    // The budget's first step, taken here rather than after the packet: a
    // connection closing writes up to its whole pending bound at once.
    budget_->took(MemoryStep::kReleaseHeld, releaseAllEarly());
    return;
  }
  if (heap_.size() <= max_held_) return;
  if (on_pressure_ && pushes_since_pressure_ >= max_held_ / 4) {
    pushes_since_pressure_ = 0;
    on_pressure_();
  }
  while (heap_.size() > max_held_) {
    releaseTop();
    ++released_early_;
    if (budget_ != nullptr) budget_->noteHeldCountCap(1);
  }
}

void OrderedOutput::releaseTop() {
  std::pop_heap(heap_.begin(), heap_.end(), Later{&meta_});
  releasing_ = heap_.back();
  const uint32_t slot = releasing_.slot;
  heap_.pop_back();
  SlotMeta& m = meta_[slot];
  if (lines_mode_) {
    std::string& line = lines_[slot];
    on_line_(line);
    if (line.capacity() > kKeepLineCapacity) {
      std::string().swap(line);
      if (budget_ != nullptr) budget_->sub(MemoryHolder::kOrdering, m.heap_bytes);
      m.heap_bytes = 0;
    }
  } else {
    on_record_(slots_[slot]);
    if (m.heap_bytes > 0) {
      // Free the record's strings now, not when the slot is reused.
      slots_[slot] = l7::Record();
      budget_->sub(MemoryHolder::kOrdering, m.heap_bytes);
      m.heap_bytes = 0;
    }
  }
  free_slots_.push_back(slot);
  ++released_;
}

void OrderedOutput::releaseBefore(int64_t watermark_us) {
  while (!heap_.empty() && heap_.front().start_time_us < watermark_us) releaseTop();
}

void OrderedOutput::releaseAll() {
  while (!heap_.empty()) releaseTop();
}

uint64_t OrderedOutput::releaseAllEarly() {
  const uint64_t n = heap_.size();
  releaseAll();
  released_early_ += n;
  // Memory is short: the slots go back too (they regrow if needed).
  std::deque<l7::Record>().swap(slots_);
  if (budget_ != nullptr) {
    for (const SlotMeta& m : meta_) budget_->sub(MemoryHolder::kOrdering, m.heap_bytes);
  }
  std::deque<std::string>().swap(lines_);
  std::vector<SlotMeta>().swap(meta_);
  std::vector<Item>().swap(heap_);
  std::vector<uint32_t>().swap(free_slots_);
  accountSlots();
  return n;
}

}  // namespace l7h
