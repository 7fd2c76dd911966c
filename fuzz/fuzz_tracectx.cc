// fuzz_tracectx: the sw8 and traceparent parsers on arbitrary text. A header
// that parses must have produced ids of the documented shapes; one that is
// rejected must say why and yield none.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "l7/tracectx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto fail = [](const char* what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  };
  const auto sw8 = l7::tracectx::parseSw8(text);
  if (sw8.ok) {
    if (sw8.ids.trace_id.empty() || sw8.ids.span_id.find('-') == std::string::npos) fail("sw8 ids malformed");
  } else if (sw8.error.empty() || !sw8.ids.trace_id.empty()) {
    fail("rejected sw8 without a reason, or with ids");
  }
  const auto tp = l7::tracectx::parseTraceparent(text);
  if (tp.ok) {
    if (tp.ids.trace_id.size() != 32 || tp.ids.span_id.size() != 16) fail("traceparent ids of the wrong size");
  } else if (tp.error.empty()) {
    fail("rejected traceparent without a reason");
  }
  l7::L7Fields fields;
  l7::tracectx::applyTraceHeader("sw8", text, fields);
  l7::tracectx::applyTraceHeader("traceparent", text, fields);
  if (!fields.trace_id_2.empty() && fields.trace_id_2 == fields.trace_id) fail("duplicate trace ids");
  return 0;
}
