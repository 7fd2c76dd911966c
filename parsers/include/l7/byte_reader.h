// Bounded, zero-copy cursor over a byte span.
//
// Contract (QUICHE-style): every read either succeeds and advances, or fails
// and leaves the cursor exactly where it was. Reads never touch a byte outside
// the span the reader was built on. Strings and byte runs come back as views
// into that span, valid as long as the caller's buffer is. `sub(n)` carves a
// child reader over the next n bytes, so a nested length-prefixed structure
// cannot read into its parent's tail. No exceptions, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace l7 {

using Bytes = std::span<const uint8_t>;

inline std::string_view asText(Bytes b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes asBytes(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(Bytes data) noexcept : data_(data) {}

  size_t remaining() const noexcept { return data_.size() - pos_; }
  size_t position() const noexcept { return pos_; }
  bool empty() const noexcept { return remaining() == 0; }
  Bytes rest() const noexcept { return data_.subspan(pos_); }
  Bytes whole() const noexcept { return data_; }

  bool skip(size_t n) noexcept {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  bool bytes(size_t n, Bytes& out) noexcept {
    if (n > remaining()) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool text(size_t n, std::string_view& out) noexcept {
    Bytes b;
    if (!bytes(n, b)) return false;
    out = asText(b);
    return true;
  }
  // Child reader over the next n bytes; the parent advances past them.
  bool sub(size_t n, ByteReader& out) noexcept {
    Bytes b;
    if (!bytes(n, b)) return false;
    out = ByteReader(b);
    return true;
  }
  bool peekU8(uint8_t& v) const noexcept {
    if (remaining() < 1) return false;
    v = data_[pos_];
    return true;
  }

  bool u8(uint8_t& v) noexcept { return readBe(v); }
  bool u16be(uint16_t& v) noexcept { return readBe(v); }
  bool u32be(uint32_t& v) noexcept { return readBe(v); }
  bool u64be(uint64_t& v) noexcept { return readBe(v); }
  bool i8(int8_t& v) noexcept { return readSigned<uint8_t>(v); }
  bool i16be(int16_t& v) noexcept { return readSigned<uint16_t>(v); }
  bool i32be(int32_t& v) noexcept { return readSigned<uint32_t>(v); }
  bool i64be(int64_t& v) noexcept { return readSigned<uint64_t>(v); }
  bool u16le(uint16_t& v) noexcept { return readLe(v); }
  bool u32le(uint32_t& v) noexcept { return readLe(v); }
  bool u64le(uint64_t& v) noexcept { return readLe(v); }

  // Unsigned LEB128 (protobuf varint, Kafka unsigned varint), at most
  // max_bytes long (10 covers 64 bits; Kafka's 32-bit kind uses 5).
  bool uvarint(uint64_t& v, size_t max_bytes = 10) noexcept {
    uint64_t result = 0;
    size_t i = 0;
    for (; i < max_bytes; ++i) {
      if (pos_ + i >= data_.size()) return false;
      const uint8_t b = data_[pos_ + i];
      const unsigned shift = static_cast<unsigned>(7 * i);
      if (shift >= 64) return false;
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        pos_ += i + 1;
        v = result;
        return true;
      }
    }
    return false;  // too long
  }
  // Zig-zag signed varint (Kafka record fields).
  bool svarint(int64_t& v, size_t max_bytes = 10) noexcept {
    uint64_t u = 0;
    if (!uvarint(u, max_bytes)) return false;
    v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    return true;
  }
  // MQTT "Variable Byte Integer": 1 to 4 bytes, at most 268,435,455.
  bool mqttVarint(uint32_t& v) noexcept {
    uint64_t u = 0;
    const size_t start = pos_;
    if (!uvarint(u, 4)) {
      pos_ = start;
      return false;
    }
    v = static_cast<uint32_t>(u);
    return true;
  }

 private:
  template <typename T>
  bool readBe(T& v) noexcept {
    if (remaining() < sizeof(T)) return false;
    T r = 0;
    for (size_t i = 0; i < sizeof(T); ++i) r = static_cast<T>((r << 8) | data_[pos_ + i]);
    v = r;
    pos_ += sizeof(T);
    return true;
  }
  template <typename T>
  bool readLe(T& v) noexcept {
    if (remaining() < sizeof(T)) return false;
    T r = 0;
    for (size_t i = sizeof(T); i-- > 0;) r = static_cast<T>((r << 8) | data_[pos_ + i]);
    v = r;
    pos_ += sizeof(T);
    return true;
  }
  template <typename U, typename S>
  bool readSigned(S& v) noexcept {
    U u = 0;
    if (!readBe(u)) return false;
    v = static_cast<S>(u);
    return true;
  }

  Bytes data_{};
  size_t pos_ = 0;
};

}  // namespace l7
