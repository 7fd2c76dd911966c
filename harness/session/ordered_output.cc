#include "session/ordered_output.h"

namespace l7h {

void OrderedOutput::push(const RecordSortKey& key, l7::Record&& record) {
  heap_.push(Item{key, std::move(record)});
}

void OrderedOutput::releaseTop() {
  // priority_queue::top() is const; the item is discarded right after, so
  // emitting from the const reference is enough (no copy).
  on_record_(heap_.top().record);
  heap_.pop();
  ++released_;
}

void OrderedOutput::releaseBefore(int64_t watermark_us) {
  while (!heap_.empty() && heap_.top().key.start_time_us < watermark_us) releaseTop();
}

void OrderedOutput::releaseAll() {
  while (!heap_.empty()) releaseTop();
}

}  // namespace l7h
