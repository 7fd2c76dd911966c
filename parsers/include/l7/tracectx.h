// Trace-context headers shared by every decoder: SkyWalking `sw8` and W3C
// `traceparent` (../shared/spec/skywalking-reference.md §1).
#pragma once

#include <string>
#include <string_view>

#include "l7/record.h"

namespace l7::tracectx {

struct TraceIds {
  std::string trace_id;
  std::string span_id;
};

struct ParseResult {
  bool ok = false;
  TraceIds ids;
  std::string_view error;  // static text naming why the header was rejected
};

// sw8: trace_id = decoded trace id; span_id = "<decoded segment id>-<span id>".
ParseResult parseSw8(std::string_view value) noexcept;
// traceparent: trace_id = the 32-hex trace id; span_id = the 16-hex parent id.
ParseResult parseTraceparent(std::string_view value) noexcept;

// For a header found in a message: if `name` is sw8 or traceparent
// (case-insensitive) and the value parses, adds its trace id to `fields`
// (first distinct → trace_id, second → trace_id_2) and sets span_id if it is
// still empty. Other names, and headers that do not parse, change nothing.
// Returns true when the header was a recognized, valid trace header.
bool applyTraceHeader(std::string_view name, std::string_view value, L7Fields& fields);

}  // namespace l7::tracectx
