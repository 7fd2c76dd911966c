// Kafka frames, record batches and compressed blobs, built from the
// encodings of https://kafka.apache.org/protocol#protocol_types and the record
// batch format of https://kafka.apache.org/documentation/#recordbatch. Used by
// the synthesizer, the unit tests and the benchmarks; it shares nothing with
// the decoder.
#pragma once

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace l7h::synth::kafkawire {

class W {
 public:
  explicit W(bool flexible = false) : flex_(flexible) {}
  W& i8(int8_t v) { return be(static_cast<uint8_t>(v), 1); }
  W& i16(int16_t v) { return be(static_cast<uint16_t>(v), 2); }
  W& i32(int32_t v) { return be(static_cast<uint32_t>(v), 4); }
  W& i64(int64_t v) { return be(static_cast<uint64_t>(v), 8); }
  W& uv(uint64_t v) {
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      if (v != 0) b |= 0x80;
      b_.push_back(static_cast<char>(b));
    } while (v != 0);
    return *this;
  }
  W& sv(int64_t v) { return uv((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  W& str(std::string_view s) {
    if (flex_) uv(s.size() + 1); else i16(static_cast<int16_t>(s.size()));
    b_.append(s);
    return *this;
  }
  W& nullStr() { return flex_ ? uv(0) : i16(-1); }
  W& bytes(std::string_view s) {
    if (flex_) uv(s.size() + 1); else i32(static_cast<int32_t>(s.size()));
    b_.append(s);
    return *this;
  }
  W& arr(uint32_t n) { return flex_ ? uv(uint64_t{n} + 1) : i32(static_cast<int32_t>(n)); }
  W& tags() { return flex_ ? uv(0) : *this; }
  W& raw(std::string_view s) {
    b_.append(s);
    return *this;
  }
  W& uuid(uint8_t first) {
    for (int i = 0; i < 16; ++i) b_.push_back(static_cast<char>(first + i));
    return *this;
  }
  const std::string& str() const { return b_; }
  bool flexible() const { return flex_; }

 private:
  W& be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) b_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string b_;
  bool flex_;
};

inline std::string frame(const std::string& body) {
  return W().i32(static_cast<int32_t>(body.size())).str() + body;
}

// Request header v1 (v2 when flexible: client_id stays classic, then tags).
inline std::string request(int16_t key, int16_t version, int32_t correlation_id, bool flexible,
                           const std::string& body, std::string_view client_id = "l7-test") {
  W h;
  h.i16(key).i16(version).i32(correlation_id).str(client_id);
  if (flexible) h.uv(0);
  return frame(h.str() + body);
}
// Response header v0 (v1 when flexible: tags).
inline std::string response(int32_t correlation_id, bool flexible_header, const std::string& body) {
  W h;
  h.i32(correlation_id);
  if (flexible_header) h.uv(0);
  return frame(h.str() + body);
}

using Header = std::pair<std::string, std::optional<std::string>>;

inline std::string record(const std::optional<std::string>& key, const std::optional<std::string>& value,
                          const std::vector<Header>& headers, int offset_delta = 0) {
  W body;
  body.i8(0).sv(0).sv(offset_delta);
  if (key) body.sv(static_cast<int64_t>(key->size())).raw(*key); else body.sv(-1);
  if (value) body.sv(static_cast<int64_t>(value->size())).raw(*value); else body.sv(-1);
  body.sv(static_cast<int64_t>(headers.size()));
  for (const auto& [name, val] : headers) {
    body.sv(static_cast<int64_t>(name.size())).raw(name);
    if (val) body.sv(static_cast<int64_t>(val->size())).raw(*val); else body.sv(-1);
  }
  return W().sv(static_cast<int64_t>(body.str().size())).str() + body.str();
}

inline std::string compress(int codec, const std::string& plain, bool xerial = false) {
  std::string out;
  if (codec == 1) {  // gzip
    z_stream s{};
    deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    out.resize(deflateBound(&s, plain.size()) + 32);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    s.avail_in = static_cast<uInt>(plain.size());
    s.next_out = reinterpret_cast<Bytef*>(out.data());
    s.avail_out = static_cast<uInt>(out.size());
    deflate(&s, Z_FINISH);
    out.resize(s.total_out);
    deflateEnd(&s);
  } else if (codec == 2) {  // snappy, raw or in the Java client's xerial framing
    size_t n = snappy_max_compressed_length(plain.size());
    std::string block(n, '\0');
    snappy_compress(plain.data(), plain.size(), block.data(), &n);
    block.resize(n);
    if (!xerial) return block;
    out.append("\x82SNAPPY\0", 8);
    out += W().i32(1).i32(1).i32(static_cast<int32_t>(block.size())).str();
    out += block;
  } else if (codec == 3) {  // lz4 frame
    out.resize(LZ4F_compressFrameBound(plain.size(), nullptr));
    out.resize(LZ4F_compressFrame(out.data(), out.size(), plain.data(), plain.size(), nullptr));
  } else if (codec == 4) {  // zstd
    out.resize(ZSTD_compressBound(plain.size()));
    out.resize(ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), 3));
  }
  return out;
}

// A magic-2 record batch around an already encoded (maybe compressed)
// records payload. The CRC is not checked by the decoder and left 0.
inline std::string batchWithPayload(const std::string& payload, int codec, int32_t count) {
  W after_length;  // everything after batchLength
  after_length.i32(0).i8(2).i32(0).i16(static_cast<int16_t>(codec)).i32(count - 1);
  after_length.i64(1700000000000).i64(1700000000000).i64(-1).i16(-1).i32(-1);
  after_length.i32(count).raw(payload);
  return W().i64(0).i32(static_cast<int32_t>(after_length.str().size())).str() + after_length.str();
}

inline std::string batch(const std::vector<std::string>& records, int codec = 0, bool xerial = false) {
  std::string payload;
  for (const auto& r : records) payload += r;
  if (codec != 0) payload = compress(codec, payload, xerial);
  return batchWithPayload(payload, codec, static_cast<int32_t>(records.size()));
}

// A legacy (magic 1) message set with one message.
inline std::string legacyMessageSet(const std::string& value) {
  W message;
  message.i32(0).i8(1).i8(0).i64(1700000000000).i32(-1).i32(static_cast<int32_t>(value.size())).raw(value);
  return W().i64(0).i32(static_cast<int32_t>(message.str().size())).str() + message.str();
}

}  // namespace l7h::synth::kafkawire
