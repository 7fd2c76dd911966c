#include "kafka/kafka_wire.h"

namespace l7::kafka {

std::string_view wireErrorText(WireError e) noexcept {
  switch (e) {
    case WireError::kNone: return "";
    case WireError::kTruncated: return "message ends inside a field";
    case WireError::kMalformed: return "impossible length or count";
    case WireError::kOverCap: return "element count over the cap";
  }
  return "";
}

bool KafkaReader::length(bool wide, int64_t& len) noexcept {
  if (flexible_) {
    uint64_t u = 0;
    // Compact lengths are 32-bit unsigned varints (at most 5 bytes).
    if (!r_.uvarint(u, 5)) {
      // With five bytes at hand the varint is too long to be a length;
      // with fewer, the bytes ran out.
      return fail(r_.remaining() < 5 ? WireError::kTruncated : WireError::kMalformed);
    }
    if (u > 0xffffffffull) return fail(WireError::kMalformed);
    len = static_cast<int64_t>(u) - 1;
    return true;
  }
  if (wide) {
    int32_t v = 0;
    if (!i32(v)) return false;
    len = v;
  } else {
    int16_t v = 0;
    if (!i16(v)) return false;
    len = v;
  }
  if (len < -1) return fail(WireError::kMalformed);
  return true;
}

bool KafkaReader::string(std::string_view& out, bool* is_null) noexcept {
  int64_t len = 0;
  if (!length(false, len)) return false;
  if (is_null != nullptr) *is_null = len < 0;
  if (len < 0) {
    out = {};
    return true;
  }
  return check(r_.text(static_cast<size_t>(len), out));
}

bool KafkaReader::bytes(Bytes& out, bool* is_null) noexcept {
  int64_t len = 0;
  if (!length(true, len)) return false;
  if (is_null != nullptr) *is_null = len < 0;
  if (len < 0) {
    out = {};
    return true;
  }
  return check(r_.bytes(static_cast<size_t>(len), out));
}

bool KafkaReader::arrayCount(uint32_t& count) noexcept {
  int64_t n = 0;
  if (!length(true, n)) return false;
  if (n < 0) n = 0;
  if (n > static_cast<int64_t>(max_array_count_)) return fail(WireError::kOverCap);
  // Every element takes at least one byte; a count beyond the bytes left
  // is a lie (or a truncated prefix, which the caller tells apart).
  if (static_cast<uint64_t>(n) > r_.remaining()) {
    count = static_cast<uint32_t>(n);
    return true;  // the element reads will run out and report kTruncated
  }
  count = static_cast<uint32_t>(n);
  return true;
}

bool KafkaReader::tags() noexcept {
  if (!flexible_) return true;
  uint64_t count = 0;
  if (!r_.uvarint(count, 5)) return fail(WireError::kTruncated);
  if (count > max_array_count_) return fail(WireError::kOverCap);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t tag = 0, size = 0;
    if (!r_.uvarint(tag, 5) || !r_.uvarint(size, 5)) return fail(WireError::kTruncated);
    if (!r_.skip(size)) return fail(WireError::kTruncated);
  }
  return true;
}

bool KafkaReader::uuid(std::string& out) noexcept {
  Bytes b;
  if (!check(r_.bytes(16, b))) return false;
  static constexpr char kHex[] = "0123456789abcdef";
  out.clear();
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return true;
}

}  // namespace l7::kafka
