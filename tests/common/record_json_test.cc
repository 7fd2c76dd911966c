#include "l7/record_json.h"

#include <gtest/gtest.h>

#include <cstdio>

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

// Every ASCII byte at every position of strings of every length up to 40:
// the writer's eight-bytes-at-a-time path must give what the rules give
// byte by byte (the reference below), wherever a special byte falls.
std::string escapedByRules(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto b = static_cast<uint8_t>(ch);
    if (ch == '"') out += "\\\"";
    else if (ch == '\\') out += "\\\\";
    else if (ch == '\n') out += "\\n";
    else if (ch == '\r') out += "\\r";
    else if (ch == '\t') out += "\\t";
    else if (b < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", b);
      out += esc;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

TEST(JsonString, WordAtATimeMatchesTheByteRulesForEveryAsciiByteAndPosition) {
  for (size_t len = 1; len <= 40; ++len) {
    for (size_t at = 0; at < len; ++at) {
      for (int b = 0; b < 0x80; ++b) {
        std::string text(len, 'x');
        text[at] = static_cast<char>(b);
        std::string out;
        appendJsonString(text, out);
        ASSERT_EQ(out, escapedByRules(text)) << "length " << len << ", byte " << b << " at " << at;
      }
    }
  }
  // A UTF-8 sequence after a run of plain bytes still passes whole.
  std::string out;
  appendJsonString("0123456789abcdef\xc3\xa9ghijklmnopqrstu\xff", out);
  EXPECT_EQ(out, "\"0123456789abcdef\xc3\xa9ghijklmnopqrstu\\u00ff\"");
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
