// Invariants every fuzz target checks on the records it produced. A
// violation aborts, so the fuzzer reports it like a crash.
//
// The checks are split by cost (issue 20): the record's fields are checked
// directly, every record; the JSON line the production writer makes of it
// is parsed back (valid JSON, the contract's keys in order, equal-length
// attribute arrays, the same response_status) only for the first record of
// an input and for each record with a kind of string the writer must escape
// (a control byte, '"', '\\', UTF-8 or bytes that are not) that the input has
// not shown yet, which is where the writer can go wrong.
// The parser lives in record_invariants.cc, which fuzz/CMakeLists.txt
// compiles without coverage instrumentation, so its branches neither slow
// libFuzzer down nor steer it towards the oracle instead of the decoder.
#pragma once

#include <string>

#include "l7/record.h"
#include "l7/record_json.h"

namespace l7fuzz {

[[noreturn]] void invariantFailed(const char* what, const std::string& line);

// One JSON Lines record, newline included: parsed and checked in full.
void checkRecordLine(const std::string& line);

// The full check of one record: its JSON line written and parsed back.
void checkRecord(const l7::Record& record);

// Checks the records of one input (fields always, the JSON line on the
// sample above); construct one per input.
class RecordChecker {
 public:
  void operator()(const l7::Record& record);
  size_t checked() const { return records_; }
  size_t parsed() const { return parsed_; }

 private:
  size_t records_ = 0;
  size_t parsed_ = 0;
  unsigned escapes_seen_ = 0;  // kinds of escape already parsed back (record_invariants.cc)
  std::string line_;
};

}  // namespace l7fuzz
