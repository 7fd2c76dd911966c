// Golden comparison: aligns expected and actual records and reports, per
// record, only the fields that differ (a reviewable diff, not a wall of JSON).
//
// Records are compared as parsed JSON objects, so the built-in decoder, an
// external implementation (--impl) and hand-edited goldens are all judged the
// same way. Alignment: records match on (start_time, flow_id, type,
// req_tcp_seq, resp_tcp_seq) first, in order of appearance; whatever is left
// pairs up by position inside the same start_time, then by position overall,
// so a record whose identity columns changed still shows as a field diff,
// not missing+extra.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "l7/record.h"

namespace l7h::check {

using JsonRecords = std::vector<boost::json::object>;

// One JSON object per non-empty line. On error returns false and names the line.
bool parseJsonLines(std::string_view text, JsonRecords& out, std::string& error);
bool loadJsonLines(const std::string& path, JsonRecords& out, std::string& error);
boost::json::object recordToJson(const l7::Record& record);
std::string canonicalLine(const boost::json::object& record);  // key order kept, no spaces

struct FieldDiff {
  std::string key;
  std::string expected;  // JSON text, or "(absent)"
  std::string actual;
};
struct RecordDiff {
  size_t expected_index;
  size_t actual_index;
  std::vector<FieldDiff> fields;
};
struct CompareResult {
  size_t expected = 0, actual = 0, matched = 0, mismatched = 0, missing = 0, extra = 0;
  std::vector<RecordDiff> diffs;
  std::vector<size_t> missing_indexes;  // into expected
  std::vector<size_t> extra_indexes;    // into actual
  bool ok() const { return mismatched == 0 && missing == 0 && extra == 0; }
};

CompareResult compareRecords(const JsonRecords& expected, const JsonRecords& actual);

// Human-readable diff, at most `max_records` records shown.
void printComparison(FILE* out, std::string_view name, const CompareResult& result, const JsonRecords& expected,
                     const JsonRecords& actual, size_t max_records);
std::string formatComparison(std::string_view name, const CompareResult& result, const JsonRecords& expected,
                             const JsonRecords& actual, size_t max_records);

}  // namespace l7h::check
