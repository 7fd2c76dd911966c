// SkyWalking: segment mapping by the published table, ProtoJSON leniency,
// bad input reported per segment/span; trace-context properties.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "l7/tracectx.h"
#include "skywalking/segment_mapper.h"
#include "synth/trace_headers.h"

namespace l7h::skywalking {
namespace {

const l7::Attribute* attr(const l7::Record& r, std::string_view name) {
  for (const auto& a : r.f.attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

TEST(SegmentMapper, EveryColumnOfAnHttpEntrySpan) {
  const auto result = mapSegmentsJson(R"({
    "traceId": "T1", "traceSegmentId": "S1", "service": "svc", "serviceInstance": "inst",
    "spans": [{"spanId": 0, "parentSpanId": -1, "startTime": 1000, "endTime": "1250",
               "refs": [{"refType": "CrossProcess", "parentTraceSegmentId": "P9", "parentSpanId": 4}],
               "operationName": "/op", "spanType": "Entry", "spanLayer": "Http",
               "tags": [{"key": "http.method", "value": "GET"}, {"key": "http.url", "value": "http://h:1/a/b?x=1"},
                        {"key": "http.status_code", "value": "404"}, {"key": "http.flavor", "value": "1.1"},
                        {"key": "http.host", "value": "h:1"}]}]})");
  ASSERT_TRUE(result.errors.empty());
  ASSERT_EQ(result.records.size(), 1u);
  const l7::Record& r = result.records[0];
  EXPECT_EQ(r.start_time_us, 1'000'000);
  EXPECT_EQ(r.end_time_us, 1'250'000);
  EXPECT_EQ(r.response_duration_us, 250'000);
  EXPECT_EQ(r.type, l7::RecordType::kSession);
  EXPECT_EQ(r.signal_source, 4);
  EXPECT_EQ(r.l7_protocol, l7::L7Protocol::kHttp1);
  EXPECT_EQ(r.l7_protocol_str, "HTTP");
  EXPECT_EQ(r.f.version, "1.1");
  EXPECT_EQ(r.f.request_type, "GET");
  EXPECT_EQ(r.f.request_domain, "h:1");
  EXPECT_EQ(r.f.request_resource, "/a/b?x=1");
  EXPECT_EQ(r.f.endpoint, "/op");
  EXPECT_EQ(r.f.response_code, 404);
  EXPECT_EQ(r.f.response_status, l7::ResponseStatus::kClientError);
  EXPECT_EQ(r.f.response_exception, "Not Found");
  EXPECT_EQ(r.f.trace_id, "T1");
  EXPECT_EQ(r.f.span_id, "S1-0");
  EXPECT_EQ(r.f.parent_span_id, "P9-4");
  EXPECT_EQ(r.f.span_kind, 2);
  EXPECT_EQ(r.observation_point, "s-app");
  EXPECT_EQ(r.app_service, "svc");
  EXPECT_EQ(r.app_instance, "inst");
  ASSERT_NE(attr(r, "http.url"), nullptr);
}

TEST(SegmentMapper, KindsLayersAndProtocolsFromTags) {
  const auto result = mapSegmentsJson(R"([{"traceId": "T", "traceSegmentId": "S", "spans": [
    {"spanId": 0, "parentSpanId": -1, "spanType": 1, "spanLayer": 4, "startTime": 1, "endTime": 2,
     "tags": [{"key": "messaging.system", "value": "Kafka"}]},
    {"spanId": 1, "parentSpanId": 0, "spanType": "Entry", "spanLayer": "MQ", "startTime": 3, "endTime": 4,
     "tags": [{"key": "messaging.system", "value": "rabbitmq"}]},
    {"spanId": 2, "parentSpanId": 0, "spanType": "Local", "startTime": 5, "endTime": 6,
     "tags": [{"key": "db.type", "value": "Oracle"}]},
    {"spanId": 3, "parentSpanId": 0, "spanType": "Exit", "spanLayer": "Database", "startTime": 7, "endTime": 8,
     "isError": true, "tags": [{"key": "db.type", "value": "mysql"}, {"key": "db.statement", "value": "SELECT 1"}]}
  ]}])");
  ASSERT_EQ(result.records.size(), 4u);
  EXPECT_EQ(result.records[0].f.span_kind, 4);  // Exit + MQ: producer
  EXPECT_EQ(result.records[0].l7_protocol, l7::L7Protocol::kKafka);
  EXPECT_EQ(result.records[0].observation_point, "c-app");
  EXPECT_EQ(result.records[1].f.span_kind, 5);  // Entry + MQ: consumer
  EXPECT_EQ(result.records[1].l7_protocol, l7::L7Protocol::kAmqp);
  EXPECT_EQ(result.records[2].f.span_kind, 1);
  EXPECT_EQ(result.records[2].l7_protocol, l7::L7Protocol::kUnknown);
  EXPECT_EQ(result.records[2].l7_protocol_str, "Oracle");  // the raw tag when unknown
  EXPECT_EQ(result.records[2].observation_point, "app");
  EXPECT_EQ(result.records[3].f.request_resource, "SELECT 1");
  EXPECT_EQ(result.records[3].f.response_status, l7::ResponseStatus::kServerError);  // isError, no code
  EXPECT_EQ(result.records[3].f.parent_span_id, "S-0");
}

TEST(SegmentMapper, BadSpansAndSegmentsAreReportedOthersMap) {
  const auto result = mapSegmentsJson(R"([
    {"traceId": "T", "traceSegmentId": "S", "spans": [
      {"spanId": 0, "parentSpanId": -1, "startTime": 10, "endTime": 20},
      {"spanId": {"nested": true}, "startTime": 10},
      {"spanId": 2, "startTime": "1e3"},
      {"spanId": 3, "spanType": "Sideways"}]},
    {"traceSegmentId": "no-trace"},
    [1, 2, 3],
    {"traceId": "T", "traceSegmentId": "S2", "spans": [{"spanId": 0, "parentSpanId": -1, "startTime": 5, "endTime": 6}]}
  ])");
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(result.records[0].f.span_id, "S2-0");  // ordered by start time
  ASSERT_EQ(result.errors.size(), 5u);
  EXPECT_EQ(result.errors[0].where, "segment 1 (id S), span 2: spanId");
  EXPECT_EQ(result.errors[1].where, "segment 1 (id S), span 3: startTime");
  EXPECT_EQ(result.errors[2].where, "segment 1 (id S), span 4: spanType");
  EXPECT_EQ(result.errors[3].where, "segment 2 (id no-trace): traceId");
  EXPECT_EQ(result.errors[4].where, "segment 3");
}

TEST(SegmentMapper, HostileBodies) {
  EXPECT_EQ(mapSegmentsJson("{not json").errors.size(), 1u);
  std::string deep(200, '[');
  deep += std::string(200, ']');
  const auto nested = mapSegmentsJson(deep);
  ASSERT_EQ(nested.errors.size(), 1u);
  EXPECT_NE(nested.errors[0].reason.find("not JSON"), std::string::npos);
  MapLimits small;
  small.max_body_bytes = 10;
  EXPECT_EQ(mapSegmentsJson(R"({"traceId":"t","traceSegmentId":"s"})", small).errors.size(), 1u);
  small = MapLimits{};
  small.max_spans_per_segment = 1;
  EXPECT_EQ(mapSegmentsJson(R"({"traceId":"t","traceSegmentId":"s","spans":[{},{}]})", small).errors.size(), 1u);
}

TEST(TraceContextProperty, EncodedContextsDecodeBack) {
  const bool ok = rc::check("sw8 and traceparent round-trip", [] {
    // The synthesizer's encoder (written apart from the parser under test).
    auto base64 = [](const std::string& in) { return l7h::synth::base64Encode(in); };
    const auto trace = *rc::gen::nonEmpty(rc::gen::string<std::string>());
    const auto segment = *rc::gen::nonEmpty(rc::gen::string<std::string>());
    const int span = *rc::gen::inRange(0, 1 << 20);
    const std::string sw8 = "1-" + base64(trace) + "-" + base64(segment) + "-" + std::to_string(span) + "-" +
                            base64("s") + "-" + base64("i") + "-" + base64("/e") + "-" + base64("h:1");
    const auto r = l7::tracectx::parseSw8(sw8);
    RC_ASSERT(r.ok);
    RC_ASSERT(r.ids.trace_id == trace);
    RC_ASSERT(r.ids.span_id == segment + "-" + std::to_string(span));

    auto hex = [](uint64_t a, uint64_t b, int digits) {
      char buf[40];
      if (digits == 32) std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
      else std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)a);
      return std::string(buf);
    };
    const uint64_t hi = *rc::gen::arbitrary<uint64_t>(), lo = *rc::gen::arbitrary<uint64_t>() | 1;
    const uint64_t parent = *rc::gen::arbitrary<uint64_t>() | 1;
    const std::string id = hex(hi, lo, 32), pid = hex(parent, 0, 16);
    const auto t = l7::tracectx::parseTraceparent("00-" + id + "-" + pid + "-01");
    RC_ASSERT(t.ok);
    RC_ASSERT(t.ids.trace_id == id);
    RC_ASSERT(t.ids.span_id == pid);
  });
  EXPECT_TRUE(ok);
}

TEST(TraceContextProperty, RandomStringsNeverYieldIds) {
  const bool ok = rc::check("random text is rejected", [] {
    const auto s = *rc::gen::string<std::string>();
    // A random string that happens to be well-formed is astronomically unlikely
    // for sw8 (8 fields, valid base64) and traceparent (exact hex layout).
    RC_ASSERT(!l7::tracectx::parseTraceparent(s).ok);
    const auto r = l7::tracectx::parseSw8(s);
    RC_ASSERT(!r.ok);
    RC_ASSERT(r.ids.trace_id.empty());
    RC_ASSERT(!r.error.empty());
  });
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace l7h::skywalking
