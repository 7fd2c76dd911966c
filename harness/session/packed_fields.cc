#include "session/packed_fields.h"

#include <cstring>
#include <string>

namespace l7h {
namespace {

// The strings of L7Fields in declaration order (bits 0..13), then the
// optionals (bits 14..18) and the attributes (bit 19).
template <typename F, typename Fields>
void forEachString(Fields& f, F&& fn) {
  fn(f.version);
  fn(f.request_type);
  fn(f.request_domain);
  fn(f.request_resource);
  fn(f.endpoint);
  fn(f.response_exception);
  fn(f.response_result);
  fn(f.trace_id);
  fn(f.trace_id_2);
  fn(f.span_id);
  fn(f.parent_span_id);
  fn(f.x_request_id_0);
  fn(f.x_request_id_1);
  fn(f.events);
}
constexpr unsigned kStrings = 14;
constexpr uint32_t kAttributesBit = 1u << 19;

// Writes at `out`, or only counts the bytes when it is null: packing runs
// twice, measuring then writing, so the block is allocated once at its size.
class Writer {
 public:
  explicit Writer(uint8_t* out) : out_(out) {}
  void byte(uint8_t b) {
    if (out_ != nullptr) out_[n_] = b;
    ++n_;
  }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    byte(static_cast<uint8_t>(v));
  }
  void zigzag(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void bytes(const std::string& s) {
    varint(s.size());
    if (out_ != nullptr) std::memcpy(out_ + n_, s.data(), s.size());
    n_ += s.size();
  }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) byte(static_cast<uint8_t>(v >> (8 * i)));
  }
  size_t size() const { return n_; }

 private:
  uint8_t* out_;
  size_t n_ = 0;
};

class Reader {
 public:
  explicit Reader(const uint8_t* p) : p_(p) {}
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
  }
  int64_t zigzag() {
    const uint64_t v = varint();
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
  void bytes(std::string& s) {
    const size_t n = varint();
    s.assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
  }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(*p_++) << (8 * i);
    return v;
  }
  uint8_t byte() { return *p_++; }

 private:
  const uint8_t* p_;
};

}  // namespace

void PackedFields::pack(const l7::L7Fields& f) {
  uint32_t present = 0;
  unsigned bit = 0;
  forEachString(f, [&](const std::string& s) {
    if (!s.empty()) present |= 1u << bit;
    ++bit;
  });
  const std::optional<int64_t>* ints[] = {&f.request_id, &f.response_code, &f.request_length, &f.response_length};
  for (unsigned i = 0; i < 4; ++i) {
    if (ints[i]->has_value()) present |= 1u << (kStrings + i);
  }
  if (f.span_kind.has_value()) present |= 1u << (kStrings + 4);
  if (!f.attributes.empty()) present |= kAttributesBit;

  auto write = [&](Writer& w) {
    w.u32(present);
    w.byte(static_cast<uint8_t>(f.response_status));
    forEachString(f, [&](const std::string& s) {
      if (!s.empty()) w.bytes(s);
    });
    for (const auto* v : ints) {
      if (v->has_value()) w.zigzag(**v);
    }
    if (f.span_kind.has_value()) w.zigzag(*f.span_kind);
    if (!f.attributes.empty()) {
      w.varint(f.attributes.size());
      for (const l7::Attribute& a : f.attributes) {
        w.bytes(a.name);
        w.bytes(a.value);
      }
    }
  };
  Writer measure(nullptr);
  write(measure);
  size_ = static_cast<uint32_t>(measure.size());
  data_ = std::make_unique_for_overwrite<uint8_t[]>(size_);
  Writer out(data_.get());
  write(out);
}

void PackedFields::unpack(l7::L7Fields& f) const {
  if (size_ == 0) return;
  Reader r(data_.get());
  const uint32_t present = r.u32();
  f.response_status = static_cast<l7::ResponseStatus>(r.byte());
  unsigned bit = 0;
  forEachString(f, [&](std::string& s) {
    if ((present & (1u << bit++)) != 0) r.bytes(s);
  });
  std::optional<int64_t>* ints[] = {&f.request_id, &f.response_code, &f.request_length, &f.response_length};
  for (unsigned i = 0; i < 4; ++i) {
    if ((present & (1u << (kStrings + i))) != 0) *ints[i] = r.zigzag();
  }
  if ((present & (1u << (kStrings + 4))) != 0) f.span_kind = static_cast<int>(r.zigzag());
  if ((present & kAttributesBit) != 0) {
    f.attributes.resize(r.varint());
    for (l7::Attribute& a : f.attributes) {
      r.bytes(a.name);
      r.bytes(a.value);
    }
  }
}

}  // namespace l7h
