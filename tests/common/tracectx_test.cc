#include "l7/tracectx.h"

#include <gtest/gtest.h>

namespace l7::tracectx {
namespace {

TEST(Sw8, DecodesTheSpecExample) {
  auto r = parseSw8("1-My40LjU=-MS4yLjM=-4-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI3LjAuMC4xOjgwODA=");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ids.trace_id, "3.4.5");
  EXPECT_EQ(r.ids.span_id, "1.2.3-4");
}

TEST(Sw8, RejectsMalformed) {
  EXPECT_FALSE(parseSw8("1-My40LjU=-MS").ok);                                               // 3 fields
  EXPECT_FALSE(parseSw8("1-My40LjU=-MS4yLjM=--1-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI=").ok); // 9 fields
  EXPECT_FALSE(parseSw8("1-My40LjU=-MS4yLjM=-x-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI=").ok);  // span
  EXPECT_FALSE(parseSw8("1-My40LjU-MS4yLjM=-4-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI=").ok);   // padding
  EXPECT_FALSE(parseSw8("1-My40LjU=-MS4yLjM=-4--aW5zdGFuY2U=-L2FwcA==-MTI=").ok);              // empty
  EXPECT_FALSE(parseSw8("1-My4*LjU=-MS4yLjM=-4-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI=").ok);  // alphabet
}

TEST(Traceparent, AcceptsValidRejectsInvalid) {
  auto r = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.ids.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.ids.span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(parseTraceparent(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").ok);
  EXPECT_TRUE(parseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz").ok);
  EXPECT_FALSE(parseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.xyz").ok);
  EXPECT_FALSE(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.").ok);
  EXPECT_FALSE(parseTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").ok);
  EXPECT_FALSE(parseTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").ok);
  EXPECT_FALSE(parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").ok);
  EXPECT_FALSE(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01").ok);
}

TEST(ApplyTraceHeader, FillsTwoDistinctTraceIdsAndFirstSpan) {
  L7Fields f;
  EXPECT_TRUE(applyTraceHeader("TraceParent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", f));
  EXPECT_TRUE(applyTraceHeader("sw8", "1-My40LjU=-MS4yLjM=-4-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI3LjAuMC4xOjgwODA=", f));
  EXPECT_FALSE(applyTraceHeader("sw8-x", "1", f));
  EXPECT_EQ(f.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(f.trace_id_2, "3.4.5");
  EXPECT_EQ(f.span_id, "00f067aa0ba902b7");
}

}  // namespace
}  // namespace l7
