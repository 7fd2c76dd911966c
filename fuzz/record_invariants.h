// Invariants every fuzz target checks on the records it produced: each
// line is valid JSON, has every key of the contract in the contract's
// order, and the attribute arrays have equal length. A violation aborts, so
// the fuzzer reports it like a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "l7/record_json.h"

namespace l7fuzz {

[[noreturn]] inline void invariantFailed(const char* what, const std::string& line) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n%s\n", what, line.c_str());
  std::abort();
}

inline void checkRecord(const l7::Record& record) {
  std::string line;
  l7::appendRecordJson(record, line);
  if (line.empty() || line.back() != '\n') invariantFailed("record line does not end in a newline", line);
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) invariantFailed("record is not a JSON object", line);
  const auto& obj = v.as_object();
  if (obj.size() != l7::kRecordKeyCount) invariantFailed("record has the wrong number of keys", line);
  size_t i = 0;
  for (const auto& kv : obj) {
    if (kv.key() != l7::kRecordKeys[i++]) invariantFailed("record keys out of contract order", line);
  }
  if (obj.at("attribute_names").as_array().size() != obj.at("attribute_values").as_array().size())
    invariantFailed("attribute arrays differ in length", line);
  const int64_t status = obj.at("response_status").as_int64();
  if (status < 0 || status > 6 || status == 1) invariantFailed("response_status outside the enum", line);
}

}  // namespace l7fuzz
