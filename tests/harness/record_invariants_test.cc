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

// The per-input checker parses the JSON line of the first record and of
// each record with a kind of escape the input has not shown yet, and checks
// the fields of every record directly.
TEST(RecordInvariants, CheckerParsesTheFirstRecordAndEachNewKindOfEscape) {
  l7fuzz::RecordChecker check;
  l7::Record plain;
  plain.f.request_type = "PUB";
  check(plain);
  check(plain);
  EXPECT_EQ(check.parsed(), 1u);
  for (const char* text : {"a\"b", "back\\slash", "line\nbreak", "caf\xc3\xa9", "bad\xff"}) {
    l7::Record r = plain;
    r.f.request_resource = text;
    check(r);
    check(r);  // the same kind again: fields only
  }
  EXPECT_EQ(check.parsed(), 6u);
  l7::Record attr = plain;
  attr.f.attributes = {{"group_id", "g\x01"}};
  check(attr);  // a control byte, already seen in a field
  EXPECT_EQ(check.parsed(), 6u);
  EXPECT_EQ(check.checked(), 13u);
  l7fuzz::RecordChecker next_input;
  next_input(plain);
  next_input(attr);  // a new input has seen no escape yet
  EXPECT_EQ(next_input.parsed(), 2u);
}

TEST(RecordInvariantsDeathTest, CheckerAbortsOnFieldsOutsideTheirEnums) {
  auto after_a_plain_record = [](const l7::Record& bad) {
    l7fuzz::RecordChecker check;
    check(l7::Record{});
    check(bad);
  };
  l7::Record status;
  status.f.response_status = static_cast<l7::ResponseStatus>(1);
  EXPECT_DEATH(after_a_plain_record(status), "response_status outside the enum");
  l7::Record type;
  type.type = static_cast<l7::RecordType>(3);
  EXPECT_DEATH(after_a_plain_record(type), "type outside the enum");
  l7::Record kind;
  kind.f.span_kind = 6;
  EXPECT_DEATH(after_a_plain_record(kind), "span_kind outside");
}

}  // namespace
