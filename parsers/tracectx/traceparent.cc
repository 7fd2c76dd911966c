// W3C Trace Context `traceparent` (../shared/spec/skywalking-reference.md §1.4).
#include "l7/tracectx.h"

namespace l7::tracectx {
namespace {

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
bool allZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ParseResult fail(std::string_view why) {
  ParseResult r;
  r.error = why;
  return r;
}

}  // namespace

ParseResult parseTraceparent(std::string_view value) noexcept {
  const std::string_view v = trimOws(value);
  // version(2) - trace-id(32) - parent-id(16) - flags(2) = 55 characters.
  constexpr size_t kV00Length = 55;
  if (v.size() < kV00Length) return fail("traceparent: too short");
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return fail("traceparent: bad separators");
  const std::string_view version = v.substr(0, 2);
  const std::string_view trace = v.substr(3, 32);
  const std::string_view parent = v.substr(36, 16);
  const std::string_view flags = v.substr(53, 2);
  if (!isLowerHex(version) || !isLowerHex(trace) || !isLowerHex(parent) || !isLowerHex(flags))
    return fail("traceparent: not lowercase hex");
  if (version == "ff") return fail("traceparent: version ff is forbidden");
  if (version == "00" && v.size() != kV00Length) return fail("traceparent: trailing data on version 00");
  if (v.size() > kV00Length && v[kV00Length] != '-') return fail("traceparent: bad trailing data");
  if (allZero(trace)) return fail("traceparent: all-zero trace id");
  if (allZero(parent)) return fail("traceparent: all-zero parent id");
  ParseResult r;
  r.ok = true;
  r.ids.trace_id.assign(trace);
  r.ids.span_id.assign(parent);
  return r;
}

}  // namespace l7::tracectx
