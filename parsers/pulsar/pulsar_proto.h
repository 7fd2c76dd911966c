// A bounded protobuf (proto2) wire reader over l7::ByteReader: the choice
// and its reasons are in README.md beside this file.
//
// It reads fields one at a time, as views into the frame (no copy, no
// allocation); a malformed field stops the message with a reason and leaves
// nothing half-read. It never recurses on its own: a length-delimited field
// is skipped as bytes, and only the decoder descends, into the few nested
// messages Pulsar's schema has (at most 3 deep), so nesting is bounded by
// the schema, not by the wire. Groups (wire types 3 and 4) do not occur in
// PulsarApi.proto and are malformed here.
#pragma once

#include <cstdint>
#include <string_view>

#include "l7/byte_reader.h"

namespace l7::pulsar::pb {

enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

struct Field {
  uint32_t number = 0;
  WireType wire = kVarint;
  uint64_t varint = 0;  // kVarint; kFixed32/kFixed64 hold their value here too
  Bytes bytes{};        // kLen
};

// A protobuf varint: at most 10 bytes, and the 10th may only carry bit 63
// (a longer or wider encoding overflows 64 bits and is malformed).
bool readVarint(ByteReader& r, uint64_t& v) noexcept;

class Reader {
 public:
  explicit Reader(Bytes data) noexcept : r_(data) {}
  // The next field: true; false at the end of the message or on a
  // malformed field (then error() names it and the reader stays there).
  bool next(Field& f) noexcept;
  bool failed() const noexcept { return !error_.empty(); }
  std::string_view error() const noexcept { return error_; }

 private:
  ByteReader r_;
  std::string_view error_;
};

// Every field of one (sub-)message, summarized for lookup by number: the
// last value of each varint field and the first value of each
// length-delimited field numbered below kSlots (Pulsar's commands number
// theirs below 20), a presence mask per wire type, and a count of
// length-delimited fields by number for repeated ones. Unknown and higher
// numbers are skipped.
struct Summary {
  static constexpr uint32_t kSlots = 32;
  uint32_t varints_present = 0;  // bit n: varint field n seen
  uint32_t bytes_present = 0;    // bit n: length-delimited field n seen
  uint64_t varint[kSlots] = {};
  Bytes bytes[kSlots] = {};
  std::string_view error;        // malformed wire, if any

  bool hasVarint(uint32_t n) const noexcept { return n < kSlots && (varints_present >> n & 1); }
  bool hasBytes(uint32_t n) const noexcept { return n < kSlots && (bytes_present >> n & 1); }
  // The fields of the masks all present (bit n: field n).
  bool hasAll(uint32_t varint_mask, uint32_t bytes_mask) const noexcept {
    return (varints_present & varint_mask) == varint_mask && (bytes_present & bytes_mask) == bytes_mask;
  }
};

// Summarizes `data`; false (and Summary::error) if its wire is malformed.
bool summarize(Bytes data, Summary& out) noexcept;

inline std::string_view text(Bytes b) noexcept { return asText(b); }

}  // namespace l7::pulsar::pb
