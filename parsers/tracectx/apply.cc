#include <algorithm>
#include <cctype>

#include "l7/tracectx.h"

namespace l7::tracectx {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

bool applyTraceHeader(std::string_view name, std::string_view value, L7Fields& fields) {
  name = trim(name);
  ParseResult r;
  if (equalsIgnoreCase(name, "sw8")) {
    r = parseSw8(trim(value));
  } else if (equalsIgnoreCase(name, "traceparent")) {
    r = parseTraceparent(value);
  } else {
    return false;
  }
  if (!r.ok) return false;
  fields.addTraceId(r.ids.trace_id);
  if (fields.span_id.empty()) fields.span_id = r.ids.span_id;
  return true;
}

}  // namespace l7::tracectx
