// SkyWalking Cross Process Propagation Headers Protocol v3 (`sw8`).
// Validation follows the strictest agent (Java ContextCarrier.isValid): exactly
// 8 fields, standard-alphabet padded Base64, span id a non-negative integer,
// every Base64 field non-empty. See ../shared/spec/skywalking-reference.md §1.1.
#include <array>
#include <cstdint>

#include "l7/tracectx.h"

namespace l7::tracectx {
namespace {

// RFC 4648 §4 alphabet → value, -1 elsewhere (a table: sw8 decoding was
// visible in replay profiles).
constexpr std::array<int8_t, 256> kBase64Values = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<int8_t>(i);
    t['a' + i] = static_cast<int8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<int8_t>(52 + i);
  t['+'] = 62;
  t['/'] = 63;
  return t;
}();

int base64Value(char c) { return kBase64Values[static_cast<uint8_t>(c)]; }

// Strict RFC 4648 §4 decoding: length a multiple of 4, '=' only as final
// padding, and the unused low bits of the last symbol zero.
bool decodeBase64(std::string_view in, std::string& out) {
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  size_t pad = 0;
  if (in.back() == '=') pad = (in[in.size() - 2] == '=') ? 2 : 1;
  const size_t data_len = in.size() - pad;
  out.reserve(data_len * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; ++i) {
    const int v = base64Value(in[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero padding bits.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return false;
  return true;
}

bool parseNonNegativeInt(std::string_view s, int64_t& v) {
  if (s.empty() || s.size() > 10) return false;
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return v <= INT32_MAX;
}

ParseResult fail(std::string_view why) {
  ParseResult r;
  r.error = why;
  return r;
}

}  // namespace

ParseResult parseSw8(std::string_view value) noexcept {
  std::array<std::string_view, 8> fields;
  size_t count = 0;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || value[i] == '-') {
      if (count == fields.size()) return fail("sw8: more than 8 fields");
      fields[count++] = value.substr(start, i - start);
      start = i + 1;
    }
  }
  if (count != 8) return fail("sw8: fewer than 8 fields");
  if (fields[0] != "0" && fields[0] != "1") return fail("sw8: sample flag is not 0 or 1");
  int64_t span = 0;
  if (!parseNonNegativeInt(fields[3], span)) return fail("sw8: span id is not a non-negative integer");
  std::string decoded;
  for (size_t i : {4u, 5u, 6u, 7u}) {
    if (fields[i].empty()) return fail("sw8: empty field");
    if (!decodeBase64(fields[i], decoded)) return fail("sw8: field is not valid base64");
  }
  ParseResult r;
  if (!decodeBase64(fields[1], r.ids.trace_id) || r.ids.trace_id.empty())
    return fail("sw8: trace id is not valid base64");
  std::string segment;
  if (!decodeBase64(fields[2], segment) || segment.empty())
    return fail("sw8: segment id is not valid base64");
  r.ids.span_id = segment;
  r.ids.span_id.push_back('-');
  r.ids.span_id.append(fields[3]);
  r.ok = true;
  return r;
}

}  // namespace l7::tracectx
