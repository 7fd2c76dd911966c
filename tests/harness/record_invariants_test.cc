// The fuzz targets' record invariants (fuzz/record_invariants.h) must
// accept every record the writer produces and abort on each kind of
// violation; otherwise the fuzzers would check nothing.
#include <gtest/gtest.h>

#include "record_invariants.h"

namespace {

std::string goodLine() {
  l7::Record r;
  r.f.request_type = "PUB";
  r.f.response_status = l7::ResponseStatus::kParseFailed;
  r.f.attributes = {{"group_id", "g\"1"}};
  std::string line;
  l7::appendRecordJson(r, line);
  return line;
}

std::string replaced(std::string line, const std::string& from, const std::string& to) {
  const size_t at = line.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return line.replace(at, from.size(), to);
}

TEST(RecordInvariants, AcceptWhatTheWriterWrites) {
  l7fuzz::checkRecordLine(goodLine());
  l7fuzz::checkRecord(l7::Record{});
}

TEST(RecordInvariantsDeathTest, AbortOnEachViolation) {
  const std::string good = goodLine();
  EXPECT_DEATH(l7fuzz::checkRecordLine(good.substr(0, good.size() - 1)), "newline");
  EXPECT_DEATH(l7fuzz::checkRecordLine(good.substr(0, good.size() - 3) + "\n"), "not a JSON object");
  EXPECT_DEATH(l7fuzz::checkRecordLine("[1,2]\n"), "not a JSON object");
  EXPECT_DEATH(l7fuzz::checkRecordLine(replaced(good, "\"time\":", "\"tiem\":")), "out of contract order");
  EXPECT_DEATH(l7fuzz::checkRecordLine(replaced(good, "\"events\":\"\"", "\"events\":\"\",\"extra\":1")),
               "wrong number of keys");
  EXPECT_DEATH(l7fuzz::checkRecordLine(replaced(good, "\"attribute_values\":[", "\"attribute_values\":[\"x\",")),
               "differ in length");
  EXPECT_DEATH(l7fuzz::checkRecordLine(replaced(good, "\"response_status\":6", "\"response_status\":7")),
               "outside the enum");
}

}  // namespace
