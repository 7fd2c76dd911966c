#include "session/ordered_output.h"

namespace l7h {

void OrderedOutput::push(const RecordSortKey& key, l7::Record&& record) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(record);
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::move(record));
  }
  heap_.push(Item{key, slot});
}

void OrderedOutput::releaseTop() {
  const uint32_t slot = heap_.top().slot;
  heap_.pop();
  on_record_(slots_[slot]);
  free_slots_.push_back(slot);
  ++released_;
}

void OrderedOutput::releaseBefore(int64_t watermark_us) {
  while (!heap_.empty() && heap_.top().key.start_time_us < watermark_us) releaseTop();
}

void OrderedOutput::releaseAll() {
  while (!heap_.empty()) releaseTop();
}

}  // namespace l7h
