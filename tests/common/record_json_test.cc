#include "l7/record_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace l7 {
namespace {

TEST(JsonString, EscapesControlQuotesAndInvalidUtf8) {
  std::string out;
  appendJsonString(std::string_view("a\"b\\c\n\x01\xff" "\xc3\xa9", 10), out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\\u00ff\xc3\xa9\"");
}

TEST(JsonString, RejectsOverlongAndSurrogates) {
  std::string out;
  appendJsonString("\xc0\xaf\xed\xa0\x80", out);
  EXPECT_EQ(out, "\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080\"");
}

TEST(RecordJson, KeysInContractOrderAndValidJson) {
  Record r;
  r.start_time_us = 1'700'000'000'123'456;
  r.end_time_us = 1'700'000'001'000'000;
  r.flow_id = 3;
  r.ip4_0 = "127.0.0.1";
  r.l7_protocol = L7Protocol::kKafka;
  r.l7_protocol_str = "Kafka";
  r.f.request_id = 7;
  r.f.attributes = {{"zeta", "1"}, {"group_id", "g\xff"}};
  std::string line;
  appendRecordJson(r, line);
  ASSERT_EQ(line.back(), '\n');
  boost::json::error_code ec;
  auto v = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << line;
  const auto& obj = v.as_object();
  ASSERT_EQ(obj.size(), kRecordKeyCount);
  size_t i = 0;
  for (const auto& kv : obj) EXPECT_EQ(kv.key(), kRecordKeys[i++]);
  EXPECT_EQ(obj.at("time").as_int64(), 1'700'000'001);
  EXPECT_TRUE(obj.at("response_code").is_null());
  EXPECT_EQ(obj.at("request_id").as_int64(), 7);
  EXPECT_EQ(obj.at("attribute_names").as_array().at(0).as_string(), "group_id");
  EXPECT_EQ(obj.at("attribute_values").as_array().at(1).as_string(), "1");
}

}  // namespace
}  // namespace l7
