// NATS decoder: wire edge cases through the production connection path.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports a false maybe-uninitialized inside libstdc++'s <regex>
// when sanitizers are on; the .result comparison below uses std::regex.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "capture/frame_builder.h"
#include "nats/nats_decoder.h"
#include "nats/nats_wire.h"
#include "session/connection.h"
#include "session/ordered_output.h"
#include "session/replay.h"
#include "support/conversation.h"
#include "support/deepflow_corpus.h"

namespace l7::nats {
namespace {

using l7test::runConversation;
using l7test::Split;
using l7test::Write;
using l7test::byType;
using l7test::get;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;

const std::string kInfo =
    R"(INFO {"server_id":"X","server_name":"nats-a","version":"2.9.15","go":"go1.20","host":"0.0.0.0","port":4222,"max_payload":1048576})"
    "\r\n";
const std::string kConnect = R"(CONNECT {"verbose":false,"pedantic":false,"lang":"node","version":"2.19.0"})" "\r\n";
const std::string kSw8 = "1-My40LjU=-MS4yLjM=-4-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI3LjAuMC4xOjgwODA=";
const std::string kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string hpub(const std::string& subject, const std::string& headers, const std::string& payload) {
  const std::string block = "NATS/1.0\r\n" + headers + "\r\n";
  return "HPUB " + subject + " " + std::to_string(block.size()) + " " + std::to_string(block.size() + payload.size()) +
         "\r\n" + block + payload + "\r\n";
}

TEST(NatsWire, ControlLines) {
  ControlLine cl;
  EXPECT_EQ(parseControlLine("pub\tfoo.bar  5", cl), LineError::kNone);
  EXPECT_EQ(cl.op, Op::kPub);
  MessageArgs m;
  ASSERT_TRUE(messageArgs(cl, m));
  EXPECT_EQ(m.subject, "foo.bar");
  EXPECT_EQ(m.total_bytes, 5u);
  EXPECT_EQ(parseControlLine("MSG foo sid1 _INBOX.x 10", cl), LineError::kNone);
  ASSERT_TRUE(messageArgs(cl, m));
  EXPECT_EQ(m.reply, "_INBOX.x");
  EXPECT_EQ(parseControlLine("HPUB foo 10 5", cl), LineError::kBadArguments);  // headers larger than total
  EXPECT_EQ(parseControlLine("PUB foo -5", cl), LineError::kBadArguments);
  EXPECT_EQ(parseControlLine("PUB foo", cl), LineError::kBadArguments);
  EXPECT_EQ(parseControlLine("PING extra", cl), LineError::kBadArguments);
  EXPECT_EQ(parseControlLine("UNSUB alice 3", cl), LineError::kNone);
  EXPECT_EQ(parseControlLine("UNSUB alice x", cl), LineError::kBadArguments);
  EXPECT_EQ(parseControlLine("HELLO world", cl), LineError::kUnknownOp);
  EXPECT_EQ(parseControlLine("INFO", cl), LineError::kBadArguments);
}

TEST(NatsWire, HeaderBlock) {
  std::vector<std::pair<std::string, std::string>> seen;
  EXPECT_TRUE(forEachHeader("NATS/1.0\r\nA: 1\r\nB:  two \r\nnocolon\r\n\r\n",
                            [&](std::string_view n, std::string_view v) { seen.emplace_back(n, v); }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].second, "two");
  EXPECT_FALSE(forEachHeader("HTTP/1.1\r\n\r\n", [](auto, auto) {}));
  EXPECT_FALSE(forEachHeader("NATS/1.0\r\nA: 1\r\n", [](auto, auto) {}));
}

TEST(NatsDecoder, HandshakeAndPingsPairPerDirection) {
  const auto records = runConversation(natsDecoderInfo(), {
                                                              {kS2C, kInfo, 100},
                                                              {kC2S, kConnect + "PING\r\n", 200},
                                                              {kS2C, "PONG\r\n", 300},
                                                              {kS2C, "PING\r\n", 400},
                                                              {kC2S, "PONG\r\n", 450},
                                                          });
  ASSERT_EQ(records.size(), 3u);
  const Record& info = records[0];
  EXPECT_EQ(info.f.request_type, "INFO");
  EXPECT_EQ(info.type, RecordType::kSession);
  EXPECT_EQ(info.response_duration_us, 100);
  EXPECT_EQ(info.f.version, "2.9.15");
  EXPECT_EQ(info.f.request_domain, "nats-a");
  EXPECT_EQ(info.f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(info.f.request_length, static_cast<int64_t>(kInfo.size()));
  EXPECT_EQ(info.f.response_length, static_cast<int64_t>(kConnect.size()));
  EXPECT_EQ(records[1].f.request_type, "PING");
  EXPECT_EQ(records[1].end_time_us, 300);
  EXPECT_EQ(records[2].f.request_type, "PING");  // the server's PING, answered by the client
  EXPECT_EQ(records[2].start_time_us, 400);
  EXPECT_EQ(records[2].end_time_us, 450);
}

TEST(NatsDecoder, MessagesCarrySubjectEndpointAndConnectionFields) {
  const auto records = runConversation(
      natsDecoderInfo(), {
                             {kS2C, kInfo, 1},
                             {kC2S, kConnect + "sub orders.eu\tworkers 7\r\nPub orders.eu.new _INBOX.1 5\r\nhello\r\n", 2},
                             {kS2C, "+OK\r\nMSG orders.eu.new 7 _INBOX.1 5\r\nhello\r\n-ERR 'Permissions Violation'\r\n", 3},
                             {kC2S, "UNSUB 7 1\r\n", 4},
                         });
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records[1].f.request_type, "SUB");
  EXPECT_EQ(records[1].f.request_resource, "orders.eu");
  EXPECT_EQ(records[1].f.endpoint, "orders");
  EXPECT_EQ(records[2].f.request_type, "PUB");
  EXPECT_EQ(records[2].f.request_resource, "orders.eu.new");
  EXPECT_EQ(records[2].f.version, "2.9.15");
  EXPECT_EQ(records[2].f.request_domain, "nats-a");
  EXPECT_EQ(records[3].f.request_type, "OK");
  EXPECT_EQ(records[4].f.request_type, "MSG");
  EXPECT_EQ(records[4].f.response_length, static_cast<int64_t>(std::string("MSG orders.eu.new 7 _INBOX.1 5\r\nhello\r\n").size()));
  EXPECT_EQ(records[5].f.request_type, "ERR");
  EXPECT_EQ(records[5].f.response_exception, "Permissions Violation");
  EXPECT_EQ(records[5].f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(records[6].f.request_type, "UNSUB");
  for (const auto& r : records) EXPECT_EQ(r.type, RecordType::kSession);
}

TEST(NatsDecoder, TraceHeadersFirstValueCaseInsensitive) {
  const std::string msg = hpub("a.b", "Sw8: " + kSw8 + "\r\ntraceparent: " + kTraceparent +
                                          "\r\nsw8: 1-QQ==-Qg==-1-Qw==-RA==-RQ==-Rg==\r\nX: y\r\n",
                               "body");
  const auto records = runConversation(natsDecoderInfo(), {{kC2S, msg, 1}});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].f.trace_id, "3.4.5");
  EXPECT_EQ(records[0].f.trace_id_2, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(records[0].f.span_id, "1.2.3-4");
}

TEST(NatsDecoder, BadFramesGiveStatus6AndTheRestSurvives) {
  const auto records = runConversation(natsDecoderInfo(), {
                                                              {kC2S, "PUB a 3\r\nhello\r\n", 1},  // wrong size
                                                              {kC2S, "FOO bar\r\n", 2},           // not NATS
                                                              {kC2S, "PUB ok.subject 2\r\nhi\r\n", 3},
                                                          });
  // The PUB line, then "hello" and "FOO bar" (lines that are not NATS),
  // each reported; the good PUB after them is decoded.
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[0].f.request_type, "PUB");
  EXPECT_EQ(records[1].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[2].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[2].f.response_exception, "not a NATS operation");
  EXPECT_EQ(records[3].f.request_resource, "ok.subject");
  EXPECT_EQ(records[3].f.response_status, ResponseStatus::kOk);
}

TEST(NatsDecoder, OversizedPayloadIsSkippedNotBuffered) {
  l7h::ReplayOptions options;
  options.limits.max_buffered_bytes = 1024;
  const std::string big(5000, 'x');
  const auto records = runConversation(
      natsDecoderInfo(),
      {{kC2S, "PUB big.one 5000\r\n" + big + "\r\n" + hpub("big.two", "traceparent: " + kTraceparent + "\r\n", big), 1},
       {kC2S, "PUB small 1\r\nx\r\n", 2}},
      Split::kRandom, 7, options);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].f.request_resource, "big.one");
  EXPECT_EQ(records[0].f.request_length, static_cast<int64_t>(18 + 5000 + 2));
  EXPECT_EQ(records[1].f.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");  // headers were within the cap
  EXPECT_EQ(records[2].f.request_resource, "small");
}

TEST(NatsDecoder, LongLineAndDeclaredSizeCaps) {
  l7h::ReplayOptions options;
  options.limits.max_line_bytes = 64;
  options.limits.max_message_bytes = 100;
  const auto records = runConversation(natsDecoderInfo(),
                                       {{kC2S, "SUB " + std::string(200, 'a') + " 1\r\nPUB x 1000\r\n", 1},
                                        {kC2S, std::string(1000, 'z') + "\r\nPUB after 1\r\n!\r\n", 2}},
                                       Split::kWhole, 1, options);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].f.response_exception, "control line longer than the cap");
  EXPECT_EQ(records[1].f.response_exception, "payload size exceeds the cap");
  EXPECT_EQ(records[2].f.request_resource, "after");
}

TEST(NatsDecoder, SameRecordsAtAnySegmentation) {
  const std::vector<Write> conversation = {
      {kS2C, kInfo, 10},
      {kC2S, kConnect + "SUB s.1 1\r\n" + hpub("s.1", "traceparent: " + kTraceparent + "\r\n", "payload") + "PING\r\n", 20},
      {kS2C, "+OK\r\nHMSG s.1 1 34 41\r\nNATS/1.0\r\nsw8: " + std::string("x") + "\r\n\r\n" + "payload\r\nPONG\r\n", 30},
      {kC2S, "PUB s.2 3\r\nabc\r\nBAD\r\nPUB s.3 0\r\n\r\n", 40},
  };
  const std::string whole = l7test::toJsonLines(runConversation(natsDecoderInfo(), conversation));
  EXPECT_EQ(l7test::toJsonLines(runConversation(natsDecoderInfo(), conversation, Split::kOneByte)), whole);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(l7test::toJsonLines(runConversation(natsDecoderInfo(), conversation, Split::kRandom, seed)), whole)
        << "seed " << seed;
  }
}

TEST(NatsDecoder, TruncatedMessageAtEndOfStream) {
  const auto records = runConversation(natsDecoderInfo(), {{kC2S, "PUB a 10\r\nabc", 1}});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[0].f.request_type, "PUB");
}

TEST(NatsDecoder, InfoAfterConnectIsOneWay) {
  const auto records = runConversation(natsDecoderInfo(), {{kS2C, kInfo, 1}, {kC2S, kConnect, 2}, {kS2C, kInfo, 3}});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].type, RecordType::kSession);
  EXPECT_EQ(records[1].f.response_status, ResponseStatus::kOk);
}

TEST(NatsProbe, RecognizesEachSide) {
  EXPECT_EQ(probeNats(asBytes(kInfo)), ProbeVerdict::kFromServer);
  EXPECT_EQ(probeNats(asBytes(kConnect)), ProbeVerdict::kFromClient);
  EXPECT_EQ(probeNats(asBytes("MSG a 1 2\r\nhi\r\n")), ProbeVerdict::kFromServer);
  EXPECT_EQ(probeNats(asBytes("PUB a 2\r\nhi\r\n")), ProbeVerdict::kFromClient);
  EXPECT_EQ(probeNats(asBytes("INF")), ProbeVerdict::kNeedMore);
  EXPECT_EQ(probeNats(asBytes("PING\r\n")), ProbeVerdict::kNo);
  EXPECT_EQ(probeNats(asBytes("GET / HTTP/1.1\r\n")), ProbeVerdict::kNo);
  EXPECT_EQ(probeNats(asBytes("+OK POP3 ready\r\n")), ProbeVerdict::kNo);
  EXPECT_EQ(probeNats(asBytes("-ERR unknown command\r\n")), ProbeVerdict::kNo);
}

// ------------------------------------------------ joins, gaps, line ends

// Mid-stream captures on NATS's port (l7test::replayMidStream).
std::vector<Record> replayMidStream(const std::vector<Write>& segments, l7h::ReplayResult& result) {
  return l7test::replayMidStream(segments, 4222, &result);
}

TEST(NatsResync, MidStreamJoinOnPort4222DropsTheDebrisSilently) {
  // Each side starts inside a payload (and the server's inside an INFO line).
  l7h::ReplayResult result;
  const auto records = replayMidStream(
      {{kC2S, "llo world, the end of a payload\r\nPUB orders.new 2\r\nhi\r\nPING\r\n", 1000},
       {kS2C, "\":4222,\"max_payload\":1048576}\r\nMSG orders.new 9 2\r\nhi\r\nPONG\r\n", 2000},
       {kC2S, "SUB orders.* 9\r\n", 3000}},
      result);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(records.size(), 4u) << l7test::toJsonLines(records);
  for (const Record& r : records) {
    EXPECT_EQ(r.l7_protocol, L7Protocol::kNats);
    EXPECT_EQ(r.server_port, 4222);
    EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed) << r.f.request_type;
    EXPECT_EQ(r.f.version, "");  // the INFO was not seen
    EXPECT_EQ(r.type, RecordType::kSession);
  }
  EXPECT_EQ(get(records, "PUB").f.request_resource, "orders.new");
  EXPECT_EQ(get(records, "MSG").f.endpoint, "orders");
  EXPECT_EQ(get(records, "PING").end_time_us, 2000);
  EXPECT_EQ(get(records, "SUB").f.request_resource, "orders.*");
}

TEST(NatsResync, GapInsideAPayloadLosesOnlyThatMessage) {
  const l7test::ScriptedConnection run(natsDecoderInfo(), [&](l7h::Connection& conn) {
    conn.data(kS2C, 0, 1, 10, asBytes(kInfo));
    const std::string before = kConnect + "PUB lost.one 20\r\n0123456789";
    conn.data(kC2S, 0, 1, 20, asBytes(before));
    conn.gap(kC2S, 6);  // "abcdef" of the payload never captured
    const std::string after = "ghij\r\nPUB after.1 1\r\n!\r\nHPUB after.2 12 14\r\nNATS/1.0\r\n\r\nok\r\nPING\r\n";
    conn.data(kC2S, before.size() + 6, 1, 30, asBytes(after));
    conn.data(kS2C, kInfo.size(), 1, 40, asBytes(std::string("PONG\r\n")));
  });
  const std::vector<Record>& records = run.records;
  EXPECT_EQ(run.counters.parse_failures, 0u) << l7test::toJsonLines(records);
  ASSERT_EQ(records.size(), 4u) << l7test::toJsonLines(records);
  EXPECT_EQ(records[0].f.request_type, "INFO");
  EXPECT_EQ(records[0].type, RecordType::kSession);
  EXPECT_EQ(records[1].f.request_resource, "after.1");
  EXPECT_EQ(records[2].f.request_resource, "after.2");
  EXPECT_EQ(records[2].f.version, "2.9.15");  // connection state survives the gap
  EXPECT_EQ(records[3].f.request_type, "PING");
  EXPECT_EQ(records[3].end_time_us, 40);
}

TEST(NatsWire, BareLfEndsAControlLineButNotAPayload) {
  // nats-server ends control lines at LF (a CR before it is dropped) but
  // requires CRLF after a payload: the decoder does the same (README.md).
  const auto records = runConversation(natsDecoderInfo(), {{kC2S, "PUB a.b 2\nhi\r\nPING\n", 1},
                                                           {kC2S, "PUB c.d 2\r\nhi\nPUB e.f 0\r\n\r\n", 2},
                                                           {kS2C, "PONG\n", 3}});
  ASSERT_EQ(records.size(), 5u) << l7test::toJsonLines(records);
  EXPECT_EQ(records[0].f.request_resource, "a.b");
  EXPECT_EQ(records[0].f.request_length, 14);
  EXPECT_EQ(records[0].f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(records[1].f.request_type, "PING");
  EXPECT_EQ(records[1].type, RecordType::kSession);
  EXPECT_EQ(records[2].f.request_type, "PUB");
  EXPECT_EQ(records[2].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[2].f.response_exception, "payload size does not match its CRLF");
  EXPECT_EQ(records[3].f.response_status, ResponseStatus::kParseFailed);  // "hi" is not an operation
  EXPECT_EQ(records[4].f.request_resource, "e.f");
}

// ------------------------------------------------------- INFO / CONNECT JSON

std::string nested(size_t depth) {
  std::string json;
  for (size_t i = 0; i < depth; ++i) json += "{\"a\":";
  json += "1";
  for (size_t i = 0; i < depth; ++i) json += "}";
  return json;
}

TEST(NatsJson, DepthLimitAndNonJsonGiveStatus6) {
  // The limit is 16 levels of nesting: a flat INFO is 1, so 16 still parse.
  for (size_t depth : {size_t{16}, size_t{17}, size_t{400}}) {
    SCOPED_TRACE(depth);
    const auto records = runConversation(natsDecoderInfo(), {{kS2C, "INFO " + nested(depth) + "\r\n", 1},
                                                             {kC2S, kConnect, 2},
                                                             {kC2S, "PUB x 0\r\n\r\n", 3}});
    const Record* info = byType(records, "INFO");
    ASSERT_NE(info, nullptr);
    if (depth <= 16) {
      EXPECT_EQ(info->f.response_status, ResponseStatus::kOk);
      EXPECT_EQ(info->type, RecordType::kSession);  // paired with the CONNECT
    } else {
      EXPECT_EQ(info->f.response_status, ResponseStatus::kParseFailed);
      EXPECT_EQ(info->f.response_exception, "INFO is not a JSON object");
      // It opened no handshake: the CONNECT is one-way.
      EXPECT_EQ(get(records, "CONNECT").type, RecordType::kSession);
      EXPECT_EQ(get(records, "CONNECT").response_duration_us, 0);
    }
    EXPECT_EQ(get(records, "PUB").f.response_status, ResponseStatus::kOk);
  }
  struct Case {
    Direction dir;
    std::string line;
    const char* type;
    const char* why;
  };
  for (const Case& c : {Case{kS2C, "INFO server_id=x version=2\r\n", "INFO", "INFO is not a JSON object"},
                        Case{kS2C, "INFO [\"version\",\"2.9\"]\r\n", "INFO", "INFO is not a JSON object"},
                        Case{kS2C, "INFO {\"version\":\"2.9\"\r\n", "INFO", "INFO is not a JSON object"},
                        Case{kC2S, "CONNECT {verbose:false}\r\n", "CONNECT", "CONNECT is not a JSON object"},
                        Case{kC2S, "CONNECT \"x\"\r\n", "CONNECT", "CONNECT is not a JSON object"},
                        Case{kC2S, "CONNECT {\"a\":1} trailing\r\n", "CONNECT", "CONNECT is not a JSON object"}}) {
    SCOPED_TRACE(c.line);
    const auto records = runConversation(natsDecoderInfo(), {{c.dir, c.line + "PING\r\n", 1}, {reverse(c.dir), "PONG\r\n", 2}});
    ASSERT_EQ(records.size(), 2u) << l7test::toJsonLines(records);
    EXPECT_EQ(records[0].f.request_type, c.type);
    EXPECT_EQ(records[0].f.response_status, ResponseStatus::kParseFailed);
    EXPECT_EQ(records[0].f.response_exception, c.why);
    EXPECT_EQ(records[0].f.version, "");  // a bad INFO sets nothing
    EXPECT_EQ(records[1].f.request_type, "PING");
    EXPECT_EQ(records[1].type, RecordType::kSession);
  }
}

// ------------------------------------------------------------ trace context

std::string hmsg(const std::string& subject, const std::string& reply, const std::string& headers,
                 const std::string& payload) {
  const std::string block = "NATS/1.0\r\n" + headers + "\r\n";
  return "HMSG " + subject + " 42 " + (reply.empty() ? "" : reply + " ") + std::to_string(block.size()) + " " +
         std::to_string(block.size() + payload.size()) + "\r\n" + block + payload + "\r\n";
}

TEST(NatsTrace, HmsgWithTraceparentAndSw8) {
  const std::string tp = "traceparent: " + kTraceparent + "\r\n";
  const std::string sw = "sw8: " + kSw8 + "\r\n";
  const auto records = runConversation(
      natsDecoderInfo(),
      {{kS2C, kInfo, 1},
       {kS2C, hmsg("orders.new", "", tp + sw, "body"), 2},                   // traceparent first
       {kS2C, hmsg("orders.new", "_INBOX.r", sw + tp, "body"), 3},           // sw8 first, with a reply subject
       {kS2C, hmsg("orders.bad", "", "traceparent: 00-xyz-01\r\n" + sw, ""), 4},  // invalid traceparent: ignored
       {kS2C, hmsg("orders.none", "", "X-Other: 1\r\n", "b"), 5}});
  ASSERT_EQ(records.size(), 5u) << l7test::toJsonLines(records);
  const Record& a = records[1];
  EXPECT_EQ(a.f.request_type, "HMSG");
  EXPECT_EQ(a.f.request_resource, "orders.new");
  EXPECT_EQ(a.f.endpoint, "orders");
  EXPECT_EQ(a.f.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(a.f.trace_id_2, "3.4.5");            // sw8's trace id, base64-decoded
  EXPECT_EQ(a.f.span_id, "00f067aa0ba902b7");    // from the first valid header: traceparent's parent-id
  EXPECT_EQ(a.f.response_status, ResponseStatus::kOk);
  const Record& b = records[2];
  EXPECT_EQ(b.f.trace_id, "3.4.5");
  EXPECT_EQ(b.f.trace_id_2, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(b.f.span_id, "1.2.3-4");             // sw8: "<segment id>-<span id>"
  const Record& c = records[3];
  EXPECT_EQ(c.f.trace_id, "3.4.5");
  EXPECT_EQ(c.f.trace_id_2, "");
  EXPECT_EQ(c.f.span_id, "1.2.3-4");
  EXPECT_EQ(records[4].f.trace_id, "");
  EXPECT_EQ(records[4].f.span_id, "");
}

// ------------------------------------------------------------ header cap

std::unique_ptr<Decoder> createWithHeaderCap100(const DecoderLimits& limits) {
  return createNatsDecoder(limits, NatsLimits{100});
}

// An HPUB whose header block is exactly `block_size` bytes, traceparent first.
std::string hpubWithBlock(const std::string& subject, size_t block_size, const std::string& payload) {
  const std::string fixed = "NATS/1.0\r\ntraceparent: " + kTraceparent + "\r\n";
  const size_t pad = block_size - fixed.size() - 2 - 5;  // "X: " + pad + CRLF, then the final CRLF
  return hpub(subject, "traceparent: " + kTraceparent + "\r\nX: " + std::string(pad, 'p') + "\r\n", payload);
}

TEST(NatsCaps, HeaderBlockOverTheCapIsStatus6AndSkipped) {
  DecoderInfo capped = natsDecoderInfo();
  capped.create = &createWithHeaderCap100;
  const std::string at_cap = hpubWithBlock("at.cap", 100, "payload");
  const std::string over = hpubWithBlock("over.cap", 101, "payload");
  ASSERT_NE(at_cap.find(" 100 107\r\n"), std::string::npos) << at_cap;
  const std::vector<Write> conversation = {{kC2S, at_cap + over + "PUB after 1\r\n!\r\n", 1}};
  const auto records = runConversation(capped, conversation);
  ASSERT_EQ(records.size(), 3u) << l7test::toJsonLines(records);
  EXPECT_EQ(records[0].f.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(records[0].f.response_status, ResponseStatus::kOk);
  const Record& bad = records[1];
  EXPECT_EQ(bad.f.request_type, "HPUB");
  EXPECT_EQ(bad.type, RecordType::kSession);
  EXPECT_EQ(bad.f.request_resource, "over.cap");
  EXPECT_EQ(bad.f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(bad.f.response_exception, "header block larger than the cap");
  EXPECT_EQ(bad.f.trace_id, "");  // not parsed
  EXPECT_EQ(bad.f.request_length, static_cast<int64_t>(over.size()));
  EXPECT_EQ(records[2].f.request_resource, "after");
  const std::string whole = l7test::toJsonLines(records);
  EXPECT_EQ(l7test::toJsonLines(runConversation(capped, conversation, Split::kOneByte)), whole);
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    EXPECT_EQ(l7test::toJsonLines(runConversation(capped, conversation, Split::kRandom, seed)), whole);
  }
  // The default cap is 64 KiB of header bytes.
  const auto big = runConversation(natsDecoderInfo(), {{kC2S, hpubWithBlock("big", 64 * 1024, "") +
                                                                    hpubWithBlock("bigger", 64 * 1024 + 1, "") +
                                                                    "PUB after 1\r\n!\r\n", 1}});
  ASSERT_EQ(big.size(), 3u);
  EXPECT_EQ(big[0].f.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(big[1].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(big[2].f.request_resource, "after");
}

TEST(NatsCaps, HeaderBlockThatCannotBeBufferedIsNoLongerDroppedSilently) {
  // Under the header cap, but line + headers exceed max_buffered_bytes: the
  // message is passed over unseen and reported, and HMSG after it decodes.
  l7h::ReplayOptions options;
  options.limits.max_buffered_bytes = 1024;
  const std::string big_headers = hpubWithBlock("huge.headers", 2000, std::string(3000, 'x'));
  const auto records = runConversation(
      natsDecoderInfo(),
      {{kC2S, big_headers + hpubWithBlock("fits", 200, std::string(3000, 'y')) + "PUB after 1\r\n!\r\n", 1}},
      Split::kRandom, 3, options);
  ASSERT_EQ(records.size(), 3u) << l7test::toJsonLines(records);
  EXPECT_EQ(records[0].f.request_resource, "huge.headers");
  EXPECT_EQ(records[0].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[0].f.response_exception, "header block larger than the cap");
  EXPECT_EQ(records[0].f.request_length, static_cast<int64_t>(big_headers.size()));
  EXPECT_EQ(records[1].f.request_resource, "fits");  // large payload, small headers: still traced
  EXPECT_EQ(records[1].f.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(records[2].f.request_resource, "after");
}

// DeepFlow's captures: operations, subjects, version, server name and trace
// ids agree with its .result lines. DeepFlow prints one line per message
// before merging, so its Response lines (CONNECT, PONG) are folded into our
// session records; everything else maps one to one, in order.
TEST(NatsDeepFlow, AgreesWithResultFiles) {
  const std::filesystem::path dir = l7test::deepflowCaptures("nats");
  if (dir.empty()) GTEST_SKIP();
  const std::regex variant(R"re(message: (\w+)\()re");
  const std::regex msg_type(R"re(msg_type: (\w+))re");
  const std::regex subject(R"re(subject: "([^"]*)")re");
  const std::regex version(R"re(version: "([^"]*)", server_name: "([^"]*)")re");
  const std::regex trace(R"re(trace_ids: PrioFields\(\[PrioField \{ prio: \d+, field: "([^"]*)")re");
  size_t compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".pcap") continue;
    auto result_path = entry.path();
    result_path.replace_extension(".result");
    std::ifstream in(result_path);
    ASSERT_TRUE(in) << result_path;
    l7h::ReplayOptions options;
    l7h::ReplayResult rr;
    const auto records = l7h::replayCaptureToVector(entry.path().string(), options, &rr);
    ASSERT_TRUE(rr.ok) << rr.error;
    size_t i = 0;
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, msg_type) || m[1] == "Response") continue;
      ASSERT_LT(i, records.size()) << result_path << ": more DeepFlow messages than records";
      const Record& r = records[i++];
      ASSERT_TRUE(std::regex_search(line, m, variant));
      std::string op = m[1];
      for (char& c : op) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      EXPECT_EQ(r.f.request_type, op) << line;
      if (std::regex_search(line, m, subject)) {
        EXPECT_EQ(r.f.request_resource, m[1].str()) << line;
      }
      if (std::regex_search(line, m, version)) {
        EXPECT_EQ(r.f.version, m[1].str());
        EXPECT_EQ(r.f.request_domain, m[2].str());
      }
      if (std::regex_search(line, m, trace)) {
        EXPECT_EQ(r.f.trace_id, m[1].str()) << line;
      } else {
        EXPECT_EQ(r.f.trace_id, "") << line;
      }
      EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed);
      ++compared;
    }
    EXPECT_EQ(i, records.size()) << result_path << ": records without a DeepFlow line";
  }
  EXPECT_GT(compared, 40u);
}

}  // namespace
}  // namespace l7::nats
