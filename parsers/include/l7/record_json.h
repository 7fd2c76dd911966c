// The canonical JSON Lines form of a Record, shared by the harness, the
// SkyWalking importer, the tests and the fuzzers so they all produce
// byte-identical lines. Keys always present, in the contract's order.
#pragma once

#include <string>
#include <string_view>

#include "l7/record.h"

namespace l7 {

// Appends one line (with the trailing '\n') to `out`. Allocation-free apart
// from the growth of `out` itself.
void appendRecordJson(const Record& record, std::string& out);

// The same line written at `out`, which must have room for
// recordJsonBound(record) bytes (the worst case: every text byte escaped,
// plus slack the writer's fixed-size key copies may overshoot into);
// returns the end of the line. For writers that keep one output buffer and
// serialize straight into it, with no intermediate copy.
size_t recordJsonBound(const Record& record);
char* writeRecordJson(const Record& record, char* out);

// Appends `text` as a JSON string literal (with quotes). Valid UTF-8 passes
// through; control characters, '"' and '\\' are escaped; each byte that is
// not part of valid UTF-8 becomes \u00XX, so nothing is dropped and the
// output is always valid JSON.
void appendJsonString(std::string_view text, std::string& out);

// The contract's key order, for readers and checkers.
extern const std::string_view kRecordKeys[];
extern const size_t kRecordKeyCount;

}  // namespace l7
