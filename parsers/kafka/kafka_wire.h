// Kafka wire primitives over l7::ByteReader: classic and flexible ("compact")
// strings, bytes and arrays, tagged-field buffers and UUIDs.
//
// A KafkaReader knows whether the message it reads uses a flexible version
// (KIP-482), so body decoders ask for "a string" and get the right encoding.
// Every read either succeeds and advances or fails and records why: the
// bytes ran out (kTruncated), a length or count is impossible (kMalformed),
// or a count is over the configured cap (kOverCap). Nothing allocates except
// the UUID text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "l7/byte_reader.h"

namespace l7::kafka {

enum class WireError : uint8_t { kNone, kTruncated, kMalformed, kOverCap };

std::string_view wireErrorText(WireError e) noexcept;

class KafkaReader {
 public:
  KafkaReader(Bytes data, bool flexible, uint32_t max_array_count) noexcept
      : r_(data), flexible_(flexible), max_array_count_(max_array_count) {}

  bool flexible() const noexcept { return flexible_; }
  WireError error() const noexcept { return error_; }
  size_t remaining() const noexcept { return r_.remaining(); }
  ByteReader& raw() noexcept { return r_; }

  bool i8(int8_t& v) noexcept { return check(r_.i8(v)); }
  bool i16(int16_t& v) noexcept { return check(r_.i16be(v)); }
  bool i32(int32_t& v) noexcept { return check(r_.i32be(v)); }
  bool i64(int64_t& v) noexcept { return check(r_.i64be(v)); }
  bool skip(size_t n) noexcept { return check(r_.skip(n)); }

  // STRING / COMPACT_STRING; a null string reads as empty with is_null set.
  bool string(std::string_view& out, bool* is_null = nullptr) noexcept;
  // BYTES / COMPACT_BYTES (and RECORDS, which share their encoding).
  bool bytes(Bytes& out, bool* is_null = nullptr) noexcept;
  // ARRAY / COMPACT_ARRAY element count; null arrays read as 0.
  bool arrayCount(uint32_t& count) noexcept;
  // The tagged-field buffer of flexible versions; no-op otherwise.
  bool tags() noexcept;
  // 16 bytes as the canonical 8-4-4-4-12 lowercase UUID text.
  bool uuid(std::string& out) noexcept;

  bool fail(WireError e) noexcept {
    if (error_ == WireError::kNone) error_ = e;
    return false;
  }

 private:
  bool check(bool ok) noexcept { return ok ? true : fail(WireError::kTruncated); }
  // Reads a length: i16/i32 classic, or unsigned varint minus one (compact).
  // Returns -1 for null.
  bool length(bool wide, int64_t& len) noexcept;

  ByteReader r_;
  bool flexible_;
  uint32_t max_array_count_;
  WireError error_ = WireError::kNone;
};

}  // namespace l7::kafka
