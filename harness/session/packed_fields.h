// A request's L7Fields packed into one small heap block while it waits for
// its response: most of a record's ~40 columns are empty or short, and a
// Record with them all as std::string and std::optional costs about 1.2 KB
// where the packed fields of a typical request take tens of bytes. The
// full record is built only when the request leaves (answered, timed out,
// evicted or flushed).
//
// Layout: a presence bitmap (one bit per string, optional and the
// attribute list), the response status, then each present field in
// declaration order: strings as a varint length and the bytes, integers as
// zigzag varints, attributes as a count and name/value pairs.
#pragma once

#include <cstdint>
#include <memory>

#include "l7/record.h"

namespace l7h {

class PackedFields {
 public:
  PackedFields() = default;
  explicit PackedFields(const l7::L7Fields& f) { pack(f); }
  void pack(const l7::L7Fields& f);
  void unpack(l7::L7Fields& f) const;
  // Heap bytes this holds (with the allocator's header).
  size_t heapBytes() const { return size_ == 0 ? 0 : size_ + 16; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  uint32_t size_ = 0;
};

}  // namespace l7h
