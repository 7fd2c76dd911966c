// The golden diff, the mapping-table check and the metrics.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

#include "check/mapping_check.h"
#include "check/metrics.h"
#include "check/record_compare.h"

namespace l7h::check {
namespace {

JsonRecords parse(std::string_view text) {
  JsonRecords out;
  std::string error;
  EXPECT_TRUE(parseJsonLines(text, out, error)) << error;
  return out;
}

TEST(RecordCompare, ReportsOnlyTheFieldsThatDiffer) {
  const auto expected = parse(
      R"({"start_time":1,"flow_id":1,"type":2,"req_tcp_seq":5,"resp_tcp_seq":9,"request_type":"PUB","endpoint":"a"})"
      "\n"
      R"({"start_time":2,"flow_id":1,"type":2,"req_tcp_seq":6,"resp_tcp_seq":0,"request_type":"SUB","endpoint":"b"})"
      "\n");
  const auto actual = parse(
      R"({"start_time":1,"flow_id":1,"type":2,"req_tcp_seq":5,"resp_tcp_seq":9,"request_type":"PUB","endpoint":"x"})"
      "\n"
      R"({"start_time":3,"flow_id":1,"type":2,"req_tcp_seq":7,"resp_tcp_seq":0,"request_type":"MSG","endpoint":"c"})"
      "\n");
  const auto r = compareRecords(expected, actual);
  EXPECT_EQ(r.matched, 0u);
  EXPECT_EQ(r.mismatched, 2u);  // the second pair differs in identity too: shown as field diffs
  EXPECT_EQ(r.missing, 0u);
  EXPECT_EQ(r.extra, 0u);
  ASSERT_EQ(r.diffs.size(), 2u);
  ASSERT_EQ(r.diffs[0].fields.size(), 1u);
  EXPECT_EQ(r.diffs[0].fields[0].key, "endpoint");
  EXPECT_EQ(r.diffs[0].fields[0].expected, "\"a\"");
  EXPECT_EQ(r.diffs[0].fields[0].actual, "\"x\"");
  const std::string text = formatComparison("nats/x", r, expected, actual, 10);
  EXPECT_NE(text.find("endpoint: expected \"a\", got \"x\""), std::string::npos) << text;
  EXPECT_NE(text.find("request_type: expected \"SUB\", got \"MSG\""), std::string::npos) << text;
  // A record with no counterpart at all is missing (or extra).
  const auto fewer = compareRecords(expected, JsonRecords(actual.begin(), actual.begin() + 1));
  EXPECT_EQ(fewer.missing, 1u);
  EXPECT_NE(formatComparison("nats/x", fewer, expected, actual, 10).find("missing"), std::string::npos);
  const auto more = compareRecords(JsonRecords(expected.begin(), expected.begin() + 1), actual);
  EXPECT_EQ(more.extra, 1u);
  EXPECT_NE(formatComparison("nats/x", more, expected, actual, 10).find("extra record"), std::string::npos);
}

TEST(RecordCompare, IdenticalSetsMatchAndChangedIdentityStillDiffs) {
  const auto a = parse(R"({"start_time":1,"flow_id":1,"type":0,"req_tcp_seq":5,"resp_tcp_seq":0})");
  EXPECT_TRUE(compareRecords(a, a).ok());
  const auto b = parse(R"({"start_time":1,"flow_id":1,"type":2,"req_tcp_seq":5,"resp_tcp_seq":3})");
  const auto r = compareRecords(a, b);
  EXPECT_EQ(r.mismatched, 1u);  // paired by start_time, shown as field diffs
  EXPECT_EQ(r.missing, 0u);
}

TEST(RecordCompare, RejectsNonJsonLines) {
  JsonRecords out;
  std::string error;
  EXPECT_FALSE(parseJsonLines("{\"a\":1}\nnot json\n", out, error));
  EXPECT_NE(error.find("line 2"), std::string::npos);
}

class MappingCheck : public ::testing::Test {
 protected:
  std::filesystem::path path = std::filesystem::temp_directory_path() / "l7_mapping_test.tsv";
  void write(const std::string& text) { std::ofstream(path) << text; }
  void TearDown() override { std::filesystem::remove(path); }
};

TEST_F(MappingCheck, AlwaysExtensionAndUnmappedColumns) {
  write("# test\nrequest_type\tcolumn\tfill\tsource\n*\tversion\twhen_present\tINFO\n"
        "*\trequest_type\talways\toperation\nPUB\trequest_resource\talways\tsubject\n*\tresponse_exception\textension\t-ERR text\n");
  MappingTable t;
  std::string error;
  ASSERT_TRUE(loadMappingTable(path.string(), t, error)) << error;
  const auto records = parse(
      R"({"request_type":"PUB","request_resource":"","version":"2.9","type":2,"response_status":0})"
      "\n"
      R"({"request_type":"PUB","request_resource":"a.b","endpoint":"a","type":2,"response_status":0})"
      "\n"
      R"({"request_type":"PUB","request_resource":"","type":2,"response_status":6,"response_exception":"bad"})"
      "\n"
      R"({"request_type":"SUB","attribute_names":["group_id"],"attribute_values":["g"]})");
  const auto v = checkMapping(t, records);
  std::string all;
  for (const auto& x : v) all += x.message + "\n";
  ASSERT_EQ(v.size(), 3u) << all;
  EXPECT_NE(v[0].message.find("request_resource is empty"), std::string::npos) << v[0].message;
  EXPECT_NE(v[1].message.find("endpoint"), std::string::npos) << v[1].message;
  EXPECT_NE(v[2].message.find("attribute group_id"), std::string::npos) << v[2].message;
}

TEST_F(MappingCheck, AlwaysAttributesMustBePresent) {
  write("request_type\tcolumn\tfill\tsource\n"
        "*\trequest_type\talways\tapi key\n"
        "JoinGroup\tattribute.group_id\talways\tgroup_id\n"
        "*\tattribute.member\twhen_present\tmember\n"
        "*\tattribute.node\talways\tnode\n"
        "Heartbeat\tattribute.node\twhen_present\tnode, optional here\n");
  MappingTable t;
  std::string error;
  ASSERT_TRUE(loadMappingTable(path.string(), t, error)) << error;
  const auto records = parse(
      R"({"request_type":"JoinGroup","attribute_names":["group_id","node"],"attribute_values":["g","n"]})"
      "\n"
      R"({"request_type":"JoinGroup","attribute_names":["member"],"attribute_values":["m"],"response_status":0})"
      "\n"
      R"({"request_type":"JoinGroup","attribute_names":[],"attribute_values":[],"response_status":6})"
      "\n"
      R"({"request_type":"Heartbeat","attribute_names":[],"attribute_values":[]})");
  const auto v = checkMapping(t, records);
  std::string all;
  for (const auto& x : v) all += x.message + "\n";
  // Record 2 lacks both always-attributes; record 3 failed to parse (exempt);
  // record 4's specific when_present row overrides the `*` always row.
  ASSERT_EQ(v.size(), 2u) << all;
  EXPECT_EQ(v[0].record_index, 1u);
  EXPECT_NE(v[0].message.find("attribute.group_id is missing"), std::string::npos) << v[0].message;
  EXPECT_EQ(v[1].record_index, 1u);
  EXPECT_NE(v[1].message.find("attribute.node is missing"), std::string::npos) << v[1].message;
}

TEST_F(MappingCheck, RejectsUnknownColumnsAndFills) {
  MappingTable t;
  std::string error;
  write("request_type\tcolumn\tfill\tsource\n*\tverison\talways\ttypo\n");
  EXPECT_FALSE(loadMappingTable(path.string(), t, error));
  EXPECT_NE(error.find("unknown column"), std::string::npos);
  write("request_type\tcolumn\tfill\tsource\n*\tversion\tsometimes\tx\n");
  EXPECT_FALSE(loadMappingTable(path.string(), t, error));
}

TEST(Metrics, CountsRequestsResponsesErrorsAndRatios) {
  const auto records = parse(
      R"({"l7_protocol_str":"MQTT","type":2,"captured_request_byte":10,"captured_response_byte":4,"response_status":0,"request_length":8,"response_length":2,"is_ipv4":1,"ip4_1":"10.0.0.1","server_port":1883,"endpoint":"t"})"
      "\n"
      R"({"l7_protocol_str":"MQTT","type":2,"captured_request_byte":10,"captured_response_byte":4,"response_status":4,"request_length":8,"response_length":null,"is_ipv4":1,"ip4_1":"10.0.0.1","server_port":1883,"endpoint":""})"
      "\n"
      R"({"l7_protocol_str":"MQTT","type":0,"captured_request_byte":10,"captured_response_byte":0,"response_status":2,"is_ipv4":1,"ip4_1":"10.0.0.1","server_port":1883,"endpoint":""})"
      "\n"
      R"({"l7_protocol_str":"MQTT","type":2,"captured_request_byte":0,"captured_response_byte":7,"response_status":3,"is_ipv4":1,"ip4_1":"10.0.0.1","server_port":1883,"endpoint":"t"})");
  const auto m = computeMetrics(records);
  const auto& mqtt = m.at("protocols").at("MQTT").as_object();
  EXPECT_EQ(mqtt.at("log_count").as_int64(), 4);
  EXPECT_EQ(mqtt.at("request").as_int64(), 3);
  EXPECT_EQ(mqtt.at("response").as_int64(), 3);
  EXPECT_EQ(mqtt.at("client_error").as_int64(), 1);
  EXPECT_EQ(mqtt.at("server_error").as_int64(), 1);
  EXPECT_EQ(mqtt.at("timeout").as_int64(), 1);
  EXPECT_EQ(mqtt.at("session_length").as_int64(), 18);
  EXPECT_DOUBLE_EQ(mqtt.at("error_ratio").as_double(), 2.0 / 3.0);
  EXPECT_EQ(m.at("endpoints").as_array().size(), 2u);
  // The text form is stable (goldens compare it byte for byte).
  EXPECT_EQ(metricsToText(m), metricsToText(computeMetrics(records)));
  EXPECT_NE(metricsToText(m).find("\"error_ratio\": 0.666667"), std::string::npos);
}

}  // namespace
}  // namespace l7h::check
