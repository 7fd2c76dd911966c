#include "l7/record_json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <vector>

namespace l7 {

const std::string_view kRecordKeys[] = {
    "time",
    "start_time",
    "end_time",
    "flow_id",
    "ip4_0",
    "ip4_1",
    "ip6_0",
    "ip6_1",
    "is_ipv4",
    "protocol",
    "client_port",
    "server_port",
    "l7_protocol",
    "l7_protocol_str",
    "version",
    "type",
    "request_type",
    "request_domain",
    "request_resource",
    "request_id",
    "endpoint",
    "response_status",
    "response_code",
    "response_exception",
    "response_result",
    "trace_id",
    "trace_id_2",
    "span_id",
    "parent_span_id",
    "span_kind",
    "x_request_id_0",
    "x_request_id_1",
    "app_service",
    "app_instance",
    "observation_point",
    "signal_source",
    "response_duration",
    "request_length",
    "response_length",
    "captured_request_byte",
    "captured_response_byte",
    "req_tcp_seq",
    "resp_tcp_seq",
    "attribute_names",
    "attribute_values",
    "events",
};
const size_t kRecordKeyCount = sizeof(kRecordKeys) / sizeof(kRecordKeys[0]);

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlongs, surrogates and code points above U+10FFFF are invalid).
size_t utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  const size_t left = s.size() - i;
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    const uint8_t b1 = byte(i + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;  // overlong
    if (b0 == 0xED && b1 > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const uint8_t b1 = byte(i + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;  // overlong
    if (b0 == 0xF4 && b1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// The writer puts bytes through a raw cursor into a buffer sized for the
// worst case (every string byte escaped to \u00XX): no per-field capacity
// checks or reallocation.
struct Cursor {
  char* p;
  void put(char c) { *p++ = c; }
  void put(std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

void putHexEscape(uint8_t b, Cursor& c) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char esc[6] = {'\\', 'u', '0', '0', kHex[b >> 4], kHex[b & 0xF]};
  std::memcpy(c.p, esc, 6);
  c.p += 6;
}

// Bytes that go out as they are: printable ASCII other than '"' and '\\'.
constexpr std::array<bool, 256> kPlainByte = [] {
  std::array<bool, 256> t{};
  for (int b = 0x20; b < 0x80; ++b) t[static_cast<size_t>(b)] = b != '"' && b != '\\';
  return t;
}();

// Whether all eight bytes of `w` are plain (kPlainByte): none has its high
// bit set, is below 0x20, or is '"' or '\\' (exact bit tests, after "Bit
// Twiddling Hacks": haszero and hasless).
constexpr bool allPlain(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const auto has_zero = [](uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  if ((w & kHigh) != 0) return false;
  if (((w - kOnes * 0x20) & ~w & kHigh) != 0) return false;  // a byte below 0x20
  return !has_zero(w ^ (kOnes * '"')) && !has_zero(w ^ (kOnes * '\\'));
}

void putJsonString(std::string_view text, Cursor& c) {
  c.put('"');
  // Copy while scanning: record strings are short (addresses, topics, ids),
  // where a byte loop beats finding a run and calling memcpy for it.
  const auto* src = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Eight plain bytes at a time while there are (the cursor's buffer has
    // room for 6 bytes per input byte, so the 8-byte store cannot overrun).
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, src + i, 8);
      if (!allPlain(w)) break;
      std::memcpy(c.p, &w, 8);
      c.p += 8;
      i += 8;
    }
    if (i == n) break;
    const uint8_t b = src[i];
    if (kPlainByte[b]) {
      *c.p++ = static_cast<char>(b);
      ++i;
      continue;
    }
    if (b >= 0x80) {
      const size_t len = utf8SequenceLength(text, i);
      if (len > 0) {
        std::memcpy(c.p, src + i, len);
        c.p += len;
        i += len;
        continue;
      }
    }
    switch (b) {
      case '"': c.put("\\\""); break;
      case '\\': c.put("\\\\"); break;
      case '\n': c.put("\\n"); break;
      case '\r': c.put("\\r"); break;
      case '\t': c.put("\\t"); break;
      default: putHexEscape(b, c); break;
    }
    ++i;
  }
  c.put('"');
}

void putInt(int64_t v, Cursor& c) {
  auto [end, ec] = std::to_chars(c.p, c.p + 24, v);
  (void)ec;
  c.p = end;
}

template <typename T>
void putOptional(const std::optional<T>& v, Cursor& c) {
  if (v) {
    putInt(static_cast<int64_t>(*v), c);
  } else {
    c.put("null");
  }
}

// Each field is written as `"key":value`; keys come from kRecordKeys in
// order, so the writer and the published order cannot drift apart. The
// `{"key":` / `,"key":` prefixes are built once, each in a fixed 32-byte
// slot: copying a constant 32 bytes compiles to two vector stores instead of
// a call to memcpy per key (the cursor then advances by the real length;
// the buffer keeps slack for the overshoot).
struct KeyPrefix {
  char bytes[32];
  size_t size;
};

const std::vector<KeyPrefix>& keyPrefixes() {
  static const std::vector<KeyPrefix> prefixes = [] {
    std::vector<KeyPrefix> p;
    for (size_t i = 0; i < kRecordKeyCount; ++i) {
      const std::string text = std::string(i == 0 ? "{\"" : ",\"") + std::string(kRecordKeys[i]) + "\":";
      // The contract's longest key, "captured_response_byte", takes 26 bytes
      // here; a longer one would be a programming error caught at start-up.
      if (text.size() > sizeof(KeyPrefix::bytes)) std::abort();
      KeyPrefix k{};
      std::memcpy(k.bytes, text.data(), text.size());
      k.size = text.size();
      p.push_back(k);
    }
    return p;
  }();
  return prefixes;
}

class FieldWriter {
 public:
  explicit FieldWriter(Cursor& c) : c_(c), prefixes_(keyPrefixes()) {}
  void key() {
    const KeyPrefix& k = prefixes_[index_++];
    std::memcpy(c_.p, k.bytes, sizeof k.bytes);
    c_.p += k.size;
  }
  void str(std::string_view v) {
    key();
    putJsonString(v, c_);
  }
  void num(int64_t v) {
    key();
    putInt(v, c_);
  }
  template <typename T>
  void opt(const std::optional<T>& v) {
    key();
    putOptional(v, c_);
  }

 private:
  Cursor& c_;
  const std::vector<KeyPrefix>& prefixes_;
  size_t index_ = 0;
};

}  // namespace

size_t recordJsonBound(const Record& r) {
  const L7Fields& f = r.f;
  size_t text = r.ip4_0.size() + r.ip4_1.size() + r.ip6_0.size() + r.ip6_1.size() + r.l7_protocol_str.size() +
                f.version.size() + f.request_type.size() + f.request_domain.size() + f.request_resource.size() +
                f.endpoint.size() + f.response_exception.size() + f.response_result.size() + f.trace_id.size() +
                f.trace_id_2.size() + f.span_id.size() + f.parent_span_id.size() + f.x_request_id_0.size() +
                f.x_request_id_1.size() + r.app_service.size() + r.app_instance.size() + r.observation_point.size() +
                f.events.size();
  size_t attrs = 0;
  for (const Attribute& a : f.attributes) attrs += a.name.size() + a.value.size() + 6;
  // Keys, numbers and the 32-byte key slots' overshoot fit in 4 KiB; every
  // text byte may become \u00XX.
  return 4096 + 6 * (text + attrs);
}

void appendJsonString(std::string_view text, std::string& out) {
  const size_t at = out.size();
  out.resize(at + 2 + 6 * text.size());
  Cursor c{out.data() + at};
  putJsonString(text, c);
  out.resize(static_cast<size_t>(c.p - out.data()));
}

void appendRecordJson(const Record& r, std::string& out) {
  thread_local std::vector<char> scratch;
  const size_t need = recordJsonBound(r);
  if (scratch.size() < need) scratch.resize(need);
  const char* end = writeRecordJson(r, scratch.data());
  out.append(scratch.data(), static_cast<size_t>(end - scratch.data()));
}

char* writeRecordJson(const Record& r, char* out) {
  Cursor c{out};
  FieldWriter w(c);
  const L7Fields& f = r.f;
  w.num(r.end_time_us / 1000000);
  w.num(r.start_time_us);
  w.num(r.end_time_us);
  w.num(static_cast<int64_t>(r.flow_id));
  w.str(r.ip4_0);
  w.str(r.ip4_1);
  w.str(r.ip6_0);
  w.str(r.ip6_1);
  w.num(r.is_ipv4 ? 1 : 0);
  w.num(r.protocol);
  w.num(r.client_port);
  w.num(r.server_port);
  w.num(static_cast<int64_t>(r.l7_protocol));
  w.str(r.l7_protocol_str);
  w.str(f.version);
  w.num(static_cast<int64_t>(r.type));
  w.str(f.request_type);
  w.str(f.request_domain);
  w.str(f.request_resource);
  w.opt(f.request_id);
  w.str(f.endpoint);
  w.num(static_cast<int64_t>(f.response_status));
  w.opt(f.response_code);
  w.str(f.response_exception);
  w.str(f.response_result);
  w.str(f.trace_id);
  w.str(f.trace_id_2);
  w.str(f.span_id);
  w.str(f.parent_span_id);
  w.opt(f.span_kind);
  w.str(f.x_request_id_0);
  w.str(f.x_request_id_1);
  w.str(r.app_service);
  w.str(r.app_instance);
  w.str(r.observation_point);
  w.num(r.signal_source);
  w.num(r.response_duration_us);
  w.opt(f.request_length);
  w.opt(f.response_length);
  w.num(r.captured_request_byte);
  w.num(r.captured_response_byte);
  w.num(r.req_tcp_seq);
  w.num(r.resp_tcp_seq);

  // Attributes sorted by name (stable, so equal names keep their order)
  // without copying them: sort an index array on the stack when small.
  const auto& attrs = f.attributes;
  std::array<uint16_t, 32> small{};
  std::vector<uint16_t> large;
  uint16_t* order = small.data();
  const size_t n = std::min<size_t>(attrs.size(), 65535);
  if (n > small.size()) {
    large.resize(n);
    order = large.data();
  }
  std::iota(order, order + n, uint16_t{0});
  const auto by_name = [&](uint16_t a, uint16_t b) { return attrs[a].name < attrs[b].name; };
  if (n <= small.size()) {
    // Insertion sort (stable): std::stable_sort allocates a buffer per call.
    for (size_t i = 1; i < n; ++i) {
      const uint16_t v = order[i];
      size_t j = i;
      for (; j > 0 && by_name(v, order[j - 1]); --j) order[j] = order[j - 1];
      order[j] = v;
    }
  } else {
    std::stable_sort(order, order + n, by_name);
  }
  w.key();
  c.put('[');
  for (size_t i = 0; i < n; ++i) {
    if (i) c.put(',');
    putJsonString(attrs[order[i]].name, c);
  }
  c.put(']');
  w.key();
  c.put('[');
  for (size_t i = 0; i < n; ++i) {
    if (i) c.put(',');
    putJsonString(attrs[order[i]].value, c);
  }
  c.put(']');
  w.str(f.events);
  c.put("}\n");
  return c.p;
}

}  // namespace l7
