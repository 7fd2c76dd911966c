// AMQP 0-9-1 decoder: wire edge cases through the production connection path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "amqp/amqp_decoder.h"
#include "amqp/amqp_wire.h"
#include "session/replay.h"
#include "support/conversation.h"
#include "support/deepflow_corpus.h"

namespace l7::amqp {
namespace {

using l7test::be;
using l7test::get;
using l7test::runConversation;
using l7test::Split;
using l7test::Write;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;

std::string sh(std::string_view s) { return std::string(1, static_cast<char>(s.size())) + std::string(s); }
std::string ls(std::string_view s) { return be(s.size(), 4) + std::string(s); }
std::string table(const std::string& entries) { return be(entries.size(), 4) + entries; }
std::string frame(uint8_t type, uint16_t channel, const std::string& payload) {
  return std::string(1, static_cast<char>(type)) + be(channel, 2) + be(payload.size(), 4) + payload + "\xCE";
}
std::string method(uint16_t channel, uint16_t class_id, uint16_t method_id, const std::string& args = "") {
  return frame(1, channel, be(class_id, 2) + be(method_id, 2) + args);
}
std::string header(uint16_t channel, uint64_t body_size, const std::string& headers_table = "") {
  const uint16_t flags = headers_table.empty() ? 0x8000 : 0xA000;  // content-type (+ headers)
  return frame(2, channel, be(60, 2) + be(0, 2) + be(body_size, 8) + be(flags, 2) + sh("text/plain") + headers_table);
}
std::string body(uint16_t channel, const std::string& data) { return frame(3, channel, data); }
const std::string kHeartbeat = frame(8, 0, "");
const std::string kProtocolHeader = std::string("AMQP\0\0\x09\x01", 8);

std::string start() { return method(0, 10, 10, std::string("\x00\x09", 2) + table(sh("product") + "S" + ls("RabbitMQ")) + ls("PLAIN AMQPLAIN") + ls("en_US")); }
std::string startOk() { return method(0, 10, 11, table("") + sh("PLAIN") + ls(std::string("\0guest\0guest", 12)) + sh("en_US")); }
std::string tune(uint32_t frame_max) { return method(0, 10, 30, be(2047, 2) + be(frame_max, 4) + be(60, 2)); }
std::string tuneOk(uint32_t frame_max) { return method(0, 10, 31, be(2047, 2) + be(frame_max, 4) + be(60, 2)); }
std::string open(std::string_view vhost) { return method(0, 10, 40, sh(vhost) + sh("") + std::string(1, '\0')); }
std::string openOk() { return method(0, 10, 41, sh("")); }
std::string channelOpen(uint16_t ch) { return method(ch, 20, 10, sh("")); }
std::string channelOpenOk(uint16_t ch) { return method(ch, 20, 11, ls("")); }
std::string publish(uint16_t ch, std::string_view exchange, std::string_view rk) {
  return method(ch, 60, 40, be(0, 2) + sh(exchange) + sh(rk) + std::string(1, '\0'));
}
std::string close(uint16_t ch, uint16_t class_id, uint16_t code, std::string_view text) {
  return method(ch, class_id, class_id == 10 ? 50 : 40, be(code, 2) + sh(text) + be(0, 2) + be(0, 2));
}
std::string closeOk(uint16_t ch, uint16_t class_id) { return method(ch, class_id, class_id == 10 ? 51 : 41); }
std::string queueDeclare(uint16_t ch, std::string_view queue, uint8_t bits = 0) {
  return method(ch, 50, 10, be(0, 2) + sh(queue) + std::string(1, static_cast<char>(bits)) + table(""));
}

// Protocol header and connection handshake, at `ts` 1..7.
std::vector<Write> handshake(uint32_t frame_max = 131072) {
  return {{kC2S, kProtocolHeader, 1}, {kS2C, start(), 2}, {kC2S, startOk(), 3},        {kS2C, tune(frame_max), 4},
          {kC2S, tuneOk(frame_max), 5}, {kC2S, open("/prod"), 6}, {kS2C, openOk(), 7}};
}

std::vector<Record> run(std::vector<Write> writes, Split split = Split::kWhole, uint64_t seed = 1,
                        const l7h::ReplayOptions& options = {}) {
  return runConversation(amqpDecoderInfo(), writes, split, seed, options);
}

size_t parseFailures(const std::vector<Record>& records) {
  size_t n = 0;
  for (const Record& r : records) n += r.f.response_status == ResponseStatus::kParseFailed;
  return n;
}

TEST(AmqpWire, EveryMethodHasAClassAndANameOfTheClass) {
  size_t n = 0;
  for (uint16_t c : {10, 20, 40, 50, 60, 85, 90}) {
    for (uint16_t m = 0; m < 200; ++m) {
      const MethodInfo* info = findMethod(c, m);
      if (info == nullptr) continue;
      ++n;
      EXPECT_EQ(info->name.substr(0, info->name.find('.')), className(c));
    }
  }
  EXPECT_EQ(n, 64u);  // 0-9-1's methods with RabbitMQ's extensions
  EXPECT_EQ(findMethod(40, 41), nullptr);  // Exchange.UnbindOk is 51
  EXPECT_NE(findMethod(40, 51), nullptr);
}

TEST(AmqpWire, FieldTablesOfEveryTypeAreReadAndBounded) {
  std::string entries;
  entries += sh("t") + "t\x01" + sh("b") + "b\xff" + sh("B") + "B\x01" + sh("s") + "s" + be(1, 2) + sh("u") + "u" + be(1, 2) +
             sh("U") + "U" + be(1, 2) + sh("I") + "I" + be(1, 4) + sh("i") + "i" + be(1, 4) + sh("l") + "l" + be(1, 8) +
             sh("L") + "L" + be(1, 8) + sh("f") + "f" + be(1, 4) + sh("d") + "d" + be(1, 8) + sh("D") + "D\x02" + be(250, 4) +
             sh("T") + "T" + be(1767225600, 8) + sh("V") + "V" + sh("x") + "x" + ls("\x01\x02") + sh("S") + "S" + ls("text") +
             sh("A") + "A" + table("I" + be(7, 4) + "S" + ls("x") + "V") + sh("F") + "F" + table(sh("in") + "t" + std::string(1, '\0'));
  const std::string whole = table(entries);
  std::map<std::string, std::string> strings;
  ByteReader r(asBytes(whole));
  const char* why = readFieldTable(r, TableLimits{}, [&](std::string_view k, std::string_view v) { strings[std::string(k)] = v; });
  EXPECT_EQ(why, nullptr) << why;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(strings, (std::map<std::string, std::string>{{"S", "text"}}));

  // Nesting past the depth cap, entries past the entry cap, a length that
  // lies, an unknown type: each named, never read past.
  std::string deep = table(sh("leaf") + "V");
  for (int i = 0; i < 10; ++i) deep = table(sh("n") + "F" + deep);
  ByteReader d(asBytes(deep));
  EXPECT_STREQ(readFieldTable(d, TableLimits{}, [](auto, auto) {}), "field tables nested too deep");
  std::string many;
  for (int i = 0; i < 20; ++i) many += sh("k") + "V";
  const std::string many_table = table(many);
  ByteReader m(asBytes(many_table));
  EXPECT_STREQ(readFieldTable(m, TableLimits{8, 10}, [](auto, auto) {}), "field table has too many entries");
  const std::string lying = be(100, 4) + sh("k") + "V";
  ByteReader l(asBytes(lying));
  EXPECT_STREQ(readFieldTable(l, TableLimits{}, [](auto, auto) {}), "field table truncated");
  const std::string unknown = table(sh("k") + "Z");
  ByteReader u(asBytes(unknown));
  EXPECT_STREQ(readFieldTable(u, TableLimits{}, [](auto, auto) {}), "unknown field value type");
}

TEST(AmqpProbe, HeadersAndWholeMethodFramesNameTheSender) {
  auto probe = [](const std::string& s) { return probeAmqp(asBytes(s)); };
  EXPECT_EQ(probe(kProtocolHeader), ProbeVerdict::kFromClient);
  EXPECT_EQ(probe("AMQ"), ProbeVerdict::kNeedMore);
  EXPECT_EQ(probe(std::string("AMQP\0\x01\0\0", 8)), ProbeVerdict::kFromClient);
  EXPECT_EQ(probe("AMQX1234"), ProbeVerdict::kNo);
  EXPECT_EQ(probe(start()), ProbeVerdict::kFromServer);
  EXPECT_EQ(probe(publish(1, "ex", "rk")), ProbeVerdict::kFromClient);
  EXPECT_EQ(probe(close(1, 20, 200, "bye")), ProbeVerdict::kEitherSide);
  EXPECT_EQ(probe(kHeartbeat), ProbeVerdict::kEitherSide);
  EXPECT_EQ(probe(start().substr(0, 20)), ProbeVerdict::kNeedMore);
  std::string bad_end = start();
  bad_end.back() = '\0';
  EXPECT_EQ(probe(bad_end), ProbeVerdict::kNo);
  EXPECT_EQ(probe(method(0, 10, 99)), ProbeVerdict::kNo);
  EXPECT_EQ(probe(body(1, "xyz")), ProbeVerdict::kNo);
  EXPECT_EQ(probe("GET / HTTP/1.1\r\n"), ProbeVerdict::kNo);
}

TEST(AmqpDecoder, BrokerRequestsAreAnsweredByTheClientAndVhostFollows) {
  for (Split split : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
    auto w = handshake();
    w.push_back({kC2S, channelOpen(1), 8});
    w.push_back({kS2C, channelOpenOk(1), 9});
    const auto records = run(w, split, 7);
    ASSERT_EQ(records.size(), 5u) << l7test::toJsonLines(records);
    EXPECT_EQ(records[0].f.request_type, "Protocol-Header");
    EXPECT_EQ(records[0].type, RecordType::kSession);
    const Record& s = get(records, "Connection.Start");
    EXPECT_EQ(s.type, RecordType::kSession);
    EXPECT_EQ(s.start_time_us, 2);
    EXPECT_EQ(s.end_time_us, 3);
    EXPECT_EQ(s.f.request_domain, "");
    EXPECT_EQ(s.captured_request_byte, static_cast<int64_t>(start().size()));
    EXPECT_EQ(s.captured_response_byte, static_cast<int64_t>(startOk().size()));
    EXPECT_EQ(get(records, "Connection.Tune").end_time_us, 5);
    const Record& o = get(records, "Connection.Open");
    EXPECT_EQ(o.f.request_domain, "/prod");
    EXPECT_EQ(o.f.response_status, ResponseStatus::kOk);
    EXPECT_EQ(get(records, "Channel.Open").f.request_domain, "/prod");
    for (const Record& r : records) EXPECT_EQ(r.f.version, "0-9-1");
  }
}

TEST(AmqpDecoder, ABodyOfSeveralFramesWithOtherChannelsBetweenIsOneRecordAtItsFirstFrame) {
  auto w = handshake();
  const std::string b1 = body(1, "hello "), b2 = body(1, "big "), b3 = body(1, "world");
  w.push_back({kC2S, publish(1, "ex", "rk.one"), 10});
  w.push_back({kC2S, header(1, 15), 11});
  w.push_back({kC2S, b1, 12});
  w.push_back({kC2S, publish(2, "ex", "rk.two") + header(2, 3) + body(2, "abc"), 13});
  w.push_back({kC2S, b2, 14});
  w.push_back({kC2S, kHeartbeat, 15});
  w.push_back({kC2S, b3, 16});
  for (Split split : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
    const auto records = run(w, split, 3);
    EXPECT_EQ(parseFailures(records), 0u) << l7test::toJsonLines(records);
    const Record& first = get(records, "Content-Body", 0);
    const Record& second = get(records, "Content-Body", 1);
    EXPECT_EQ(first.start_time_us, 12);
    EXPECT_EQ(first.captured_request_byte, static_cast<int64_t>(b1.size() + b2.size() + b3.size()));
    EXPECT_EQ(first.req_tcp_seq, 1000u + [&] {
      size_t off = 0;
      for (const Write& x : w) {
        if (x.ts_us >= 12) break;
        if (x.dir == kC2S) off += x.bytes.size();
      }
      return static_cast<uint32_t>(off);
    }());
    EXPECT_EQ(second.start_time_us, 13);
    EXPECT_EQ(second.captured_request_byte, static_cast<int64_t>(body(2, "abc").size()));
    EXPECT_EQ(get(records, "Basic.Publish", 0).f.endpoint, "ex.rk.one");
    EXPECT_EQ(get(records, "Basic.Publish", 1).f.endpoint, "ex.rk.two");
    EXPECT_EQ(get(records, "Basic.Publish", 0).type, RecordType::kSession);
    // Records come in start-time order although the first body closed last.
    for (size_t i = 1; i < records.size(); ++i) EXPECT_LE(records[i - 1].start_time_us, records[i].start_time_us);
  }
}

TEST(AmqpDecoder, TraceHeadersGoToTheContentHeaderAndToItsMethod) {
  const std::string headers = table(sh("nested") + "F" + table(sh("traceparent") + "S" + ls("00-ffffffffffffffffffffffffffffffff-1111111111111111-01")) +
                                    sh("list") + "A" + table("S" + ls("x") + "I" + be(1, 4)) +
                                    sh("traceparent") + "S" + ls("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") +
                                    sh("sw8") + "S" + ls("1-MTIzNDU2Nzg5MA==-YWJjZGVm-3-c2Vydg==-aW5zdA==-L3A=-MTI3LjAuMC4xOjU2NzI="));
  auto w = handshake();
  w.push_back({kS2C, method(1, 60, 60, sh("ctag") + be(1, 8) + std::string(1, '\0') + sh("orders") + sh("created")), 10});
  w.push_back({kS2C, header(1, 2, headers), 11});
  w.push_back({kS2C, body(1, "{}"), 12});
  const auto records = run(w);
  const Record& h = get(records, "Content-Header");
  EXPECT_EQ(h.f.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(h.f.trace_id_2, "1234567890");
  EXPECT_EQ(h.f.span_id, "00f067aa0ba902b7");
  const Record& d = get(records, "Basic.Deliver");
  EXPECT_EQ(d.f.trace_id, h.f.trace_id);
  EXPECT_EQ(d.f.trace_id_2, h.f.trace_id_2);
  EXPECT_EQ(d.f.span_id, h.f.span_id);
  EXPECT_EQ(d.start_time_us, 10);
  EXPECT_EQ(d.f.endpoint, "orders.created");
  EXPECT_EQ(d.captured_response_byte, static_cast<int64_t>(w[w.size() - 3].bytes.size()));
}

TEST(AmqpDecoder, AChannelCloseWithAnErrorAnswersThePendingRequestAndStartsItsOwnClose) {
  auto w = handshake();
  w.push_back({kC2S, channelOpen(1), 8});
  w.push_back({kS2C, channelOpenOk(1), 9});
  w.push_back({kC2S, queueDeclare(1, "missing", 0x01), 10});  // passive
  w.push_back({kS2C, close(1, 20, 404, "NOT_FOUND - no queue 'missing'"), 11});
  w.push_back({kC2S, closeOk(1, 20), 12});
  const auto records = run(w);
  const Record& d = get(records, "Queue.Declare");
  EXPECT_EQ(d.type, RecordType::kSession);
  EXPECT_EQ(d.f.response_status, ResponseStatus::kClientError);
  EXPECT_EQ(d.f.response_code, 404);
  EXPECT_EQ(d.f.response_exception, "NOT_FOUND - no queue 'missing'");
  EXPECT_EQ(d.f.endpoint, "missing");
  EXPECT_EQ(d.end_time_us, 11);
  const Record& c = get(records, "Channel.Close");
  EXPECT_EQ(c.type, RecordType::kSession);
  EXPECT_EQ(c.start_time_us, 11);
  EXPECT_EQ(c.end_time_us, 12);
  EXPECT_EQ(c.f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(c.f.response_code, 404);
  EXPECT_EQ(c.f.response_result, "NOT_FOUND - no queue 'missing'");
  EXPECT_EQ(c.f.response_exception, "");
}

TEST(AmqpDecoder, ARefusedLoginIsAConnectionCloseThatKeepsItsError) {
  const auto records = run({{kC2S, kProtocolHeader, 1}, {kS2C, start(), 2}, {kC2S, startOk(), 3},
                            {kS2C, close(0, 10, 403, "ACCESS_REFUSED - Login was refused"), 4}, {kC2S, closeOk(0, 10), 5}});
  ASSERT_EQ(records.size(), 3u) << l7test::toJsonLines(records);
  const Record& c = get(records, "Connection.Close");
  EXPECT_EQ(c.type, RecordType::kSession);
  EXPECT_EQ(c.f.response_status, ResponseStatus::kClientError);
  EXPECT_EQ(c.f.response_code, 403);
  EXPECT_EQ(c.f.response_exception, "ACCESS_REFUSED - Login was refused");
  // A normal close: status ok, the text as the result.
  const auto normal = run({{kC2S, close(0, 10, 200, "Normal shutdown"), 1}, {kS2C, closeOk(0, 10), 2}});
  ASSERT_EQ(normal.size(), 1u);
  EXPECT_EQ(normal[0].f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(normal[0].f.response_code, 200);
  EXPECT_EQ(normal[0].f.response_result, "Normal shutdown");
}

TEST(AmqpDecoder, NoWaitRequestsAndTheTablesOneWayMethodsAreSessionsAtOnce) {
  const auto records = run({{kC2S, queueDeclare(1, "q", 0x10), 1},                 // no-wait
                            {kC2S, method(1, 60, 80, be(5, 8) + std::string(1, '\x01')), 2},  // Ack
                            {kC2S, method(1, 60, 120, be(6, 8) + std::string(1, '\x02')), 3}, // Nack
                            {kC2S, method(1, 60, 90, be(7, 8) + std::string(1, '\x00')), 4},  // Reject
                            {kC2S, method(1, 60, 100, std::string(1, '\x01')), 5},              // RecoverAsync
                            {kS2C, method(0, 10, 60, sh("low on memory")), 6},                  // Blocked
                            {kS2C, method(0, 10, 61), 7}});                                     // Unblocked
  ASSERT_EQ(records.size(), 7u) << l7test::toJsonLines(records);
  for (const Record& r : records) {
    EXPECT_EQ(r.type, RecordType::kSession) << r.f.request_type;
    EXPECT_EQ(r.f.response_status, ResponseStatus::kOk) << r.f.request_type;
  }
  EXPECT_EQ(records[0].f.endpoint, "q");
}

TEST(AmqpDecoder, BasicGetIsAnsweredByGetOkWithItsContentOrByGetEmpty) {
  const std::string tp = table(sh("traceparent") + "S" + ls("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  const auto records = run({{kC2S, method(1, 60, 70, be(0, 2) + sh("jobs") + std::string(1, '\0')), 1},
                            {kS2C, method(1, 60, 71, be(1, 8) + std::string(1, '\0') + sh("") + sh("jobs") + be(0, 4)), 2},
                            {kS2C, header(1, 5, tp) + body(1, "job-1"), 3},
                            {kC2S, method(1, 60, 70, be(0, 2) + sh("jobs") + std::string(1, '\0')), 4},
                            {kS2C, method(1, 60, 72, sh("")), 5}});
  const Record& got = get(records, "Basic.Get", 0);
  EXPECT_EQ(got.type, RecordType::kSession);
  EXPECT_EQ(got.end_time_us, 2);
  EXPECT_EQ(got.f.endpoint, "jobs");
  EXPECT_EQ(got.f.trace_id, "0af7651916cd43dd8448eb211c80319c");
  const Record& empty = get(records, "Basic.Get", 1);
  EXPECT_EQ(empty.type, RecordType::kSession);
  EXPECT_EQ(empty.end_time_us, 5);
  EXPECT_EQ(empty.f.trace_id, "");
}

TEST(AmqpDecoder, AReturnedMandatoryPublishCarriesItsReplyCode) {
  const auto records = run({{kS2C, method(1, 60, 50, be(312, 2) + sh("NO_ROUTE") + sh("amq.direct") + sh("nobody")), 1},
                            {kS2C, header(1, 1) + body(1, "x"), 2}});
  const Record& r = get(records, "Basic.Return");
  EXPECT_EQ(r.f.response_code, 312);
  EXPECT_EQ(r.f.response_status, ResponseStatus::kClientError);
  EXPECT_EQ(r.f.response_exception, "NO_ROUTE");
  EXPECT_EQ(r.f.endpoint, "amq.direct.nobody");
}

TEST(AmqpDecoder, ABadFrameEndIsOneFailureAndDecodingResumesAtTheNextFrame) {
  std::string bad = channelOpen(1);
  bad.back() = '\x00';
  for (Split split : {Split::kWhole, Split::kOneByte}) {
    const auto records = run({{kC2S, bad, 1}, {kC2S, channelOpen(2), 2}, {kS2C, channelOpenOk(2), 3},
                              {kC2S, channelOpen(3), 4}, {kS2C, channelOpenOk(3), 5}},
                             split);
    ASSERT_EQ(parseFailures(records), 1u) << l7test::toJsonLines(records);
    EXPECT_EQ(records[0].f.response_exception, "frame end is not 0xCE");
    ASSERT_NE(l7test::byType(records, "Channel.Open", 1), nullptr) << l7test::toJsonLines(records);
    EXPECT_EQ(get(records, "Channel.Open", 1).type, RecordType::kSession);
  }
}

TEST(AmqpDecoder, FrameMaxFromTuneOkIsEnforcedAndTheFramingKept) {
  auto w = handshake(4096);
  w.push_back({kC2S, publish(1, "ex", "rk"), 10});
  w.push_back({kC2S, header(1, 5000), 11});
  w.push_back({kC2S, body(1, std::string(5000, 'z')), 12});  // 5008 bytes > 4096
  w.push_back({kC2S, channelOpen(2), 13});
  const auto records = run(w);
  // The body frame is reported; its content ends with it (no body was begun).
  ASSERT_EQ(parseFailures(records), 1u) << l7test::toJsonLines(records);
  const Record* failed = nullptr;
  for (const Record& r : records) {
    if (r.f.response_exception == "frame larger than the negotiated frame_max") failed = &r;
  }
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->f.request_type, "Content-Body");
  EXPECT_EQ(failed->captured_request_byte, 5008);
  EXPECT_NE(l7test::byType(records, "Channel.Open"), nullptr);
}

TEST(AmqpDecoder, CapsGiveStatusSixNeverMemory) {
  l7h::ReplayOptions options;
  options.limits.max_buffered_bytes = 64 * 1024;
  options.limits.max_message_bytes = 1 << 20;
  // A frame over the buffering cap: reported from its header, skipped unseen.
  std::string huge = body(1, std::string(100 * 1024, 'q'));
  auto records = run({{kC2S, publish(1, "e", "r") + header(1, 100 * 1024), 1}, {kC2S, huge, 2}, {kC2S, channelOpen(2), 3}},
                     Split::kWhole, 1, options);
  EXPECT_EQ(get(records, "Content-Body").f.response_exception, "frame over the buffering cap");
  EXPECT_NE(l7test::byType(records, "Channel.Open"), nullptr);
  // A declared body over the size cap.
  records = run({{kC2S, publish(1, "e", "r") + header(1, 2 << 20) + body(1, "abc"), 1}}, Split::kWhole, 1, options);
  EXPECT_EQ(get(records, "Content-Header").f.response_exception, "body size over the cap");
  // A frame size past max_message_bytes is no frame: resynchronized.
  records = run({{kC2S, std::string("\x01\x00\x01\x7f\xff\xff\xff", 7) + channelOpen(5), 1}}, Split::kWhole, 1, options);
  EXPECT_EQ(parseFailures(records), 1u) << l7test::toJsonLines(records);
  EXPECT_NE(l7test::byType(records, "Channel.Open"), nullptr);
  // Field tables nested past the depth cap.
  std::string deep = table("");
  for (int i = 0; i < 12; ++i) deep = table(sh("n") + "F" + deep);
  records = run({{kC2S, method(1, 50, 10, be(0, 2) + sh("q") + std::string(1, '\0') + deep), 1}});
  EXPECT_EQ(get(records, "Queue.Declare").f.response_exception, "field tables nested too deep");
  EXPECT_EQ(get(records, "Queue.Declare").f.response_status, ResponseStatus::kParseFailed);
}

TEST(AmqpDecoder, ManyChannelsWithContentInFlightAreCapped) {
  l7h::ReplayOptions options;
  options.limits.max_pending = 4;
  std::string bytes;
  for (uint16_t ch = 1; ch <= 6; ++ch) bytes += publish(ch, "e", "r") + header(ch, 10) + body(ch, "12345");
  const auto records = run({{kC2S, bytes, 1}}, Split::kWhole, 1, options);
  size_t capped = 0;
  for (const Record& r : records) capped += r.f.response_exception == "too many channels with content in flight";
  EXPECT_EQ(capped, 2u) << l7test::toJsonLines(records);
}

TEST(AmqpDecoder, OtherProtocolHeadersGiveOneClearRecordAnsweredByTheBroker) {
  struct Case {
    std::string header, version;
  };
  for (const Case& c : {Case{std::string("AMQP\0\x01\0\0", 8), "1.0"}, Case{std::string("AMQP\x03\x01\0\0", 8), "1.0 SASL"},
                        Case{std::string("AMQP\x01\x01\0\x09", 8), "0-9"}, Case{std::string("AMQP\x01\x01\x08\0", 8), "0-8"}}) {
    const auto records = run({{kC2S, c.header + std::string(40, '\x01'), 1}, {kS2C, kProtocolHeader, 2}});
    ASSERT_EQ(records.size(), 1u) << l7test::toJsonLines(records);
    EXPECT_EQ(records[0].f.request_type, "Protocol-Header");
    EXPECT_EQ(records[0].f.version, c.version);
    EXPECT_EQ(records[0].type, RecordType::kSession);
    EXPECT_EQ(records[0].f.response_status, ResponseStatus::kClientError);
    EXPECT_EQ(records[0].f.response_exception, "protocol header refused: the broker offers AMQP 0-9-1");
  }
  // RabbitMQ takes 0-9 and 0-8 and answers with Connection.Start, whose
  // bytes ("AMQP" among them) are never read as headers or frames, however
  // they are cut.
  for (Split split : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
    const std::string taken = method(0, 10, 10, std::string("\x08\x00", 2) + table(sh("x") + "S" + ls("AMQPAMQP")) + ls("AMQPLAIN") + ls("en_US"));
    const auto records = run({{kC2S, std::string("AMQP\x01\x01\x08\0", 8), 1}, {kS2C, taken + taken, 2}}, split, 5);
    ASSERT_EQ(records.size(), 1u) << l7test::toJsonLines(records);
    EXPECT_EQ(records[0].f.version, "0-8");
    EXPECT_EQ(records[0].type, RecordType::kSession);
    EXPECT_EQ(records[0].f.response_status, ResponseStatus::kOk);
    EXPECT_EQ(records[0].f.response_result, "broker accepted AMQP 0-8; its frames are not decoded");
  }
}

TEST(AmqpDecoder, ABodyCutByTheEndIsReportedWhereItBegan) {
  const auto records = run({{kC2S, publish(1, "e", "r") + header(1, 100), 1}, {kC2S, body(1, "only part"), 2}});
  const Record& b = get(records, "Content-Body");
  EXPECT_EQ(b.start_time_us, 2);
  EXPECT_EQ(b.f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(b.f.response_exception, "stream ended inside a content");
}

TEST(AmqpDecoder, HeartbeatsAreRecordsAndMalformedOnesFail) {
  const auto records = run({{kC2S, kHeartbeat, 1}, {kS2C, kHeartbeat, 2}, {kC2S, frame(8, 1, ""), 3}});
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].f.request_type, "Heartbeat");
  EXPECT_EQ(records[1].captured_response_byte, 8);
  EXPECT_EQ(records[2].f.response_status, ResponseStatus::kParseFailed);
}

// A capture that joins a connection after its handshake: recognised on port
// 5672 (or by a method frame), frames found by the shared engine; a body
// whose header was before the join is passed over, no status 6.
TEST(AmqpResync, AConnectionJoinedMidStreamIsDecodedFromItsNextFrames) {
  const std::string tail_of_body = std::string("rest of a body") + body(1, "more");
  const auto records = l7test::replayMidStream(
      {{kC2S, tail_of_body, 1},
       {kC2S, publish(1, "ex", "rk") + header(1, 3) + body(1, "abc"), 2},
       {kS2C, method(1, 60, 60, sh("t") + be(1, 8) + std::string(1, '\0') + sh("ex") + sh("rk")) + header(1, 3) + body(1, "abc"), 3},
       {kC2S, method(1, 60, 80, be(1, 8) + std::string(1, '\0')), 4},
       {kC2S, queueDeclare(1, "q"), 5},
       {kS2C, method(1, 50, 11, sh("q") + be(0, 4) + be(0, 4)), 6}},
      5672);
  EXPECT_EQ(parseFailures(records), 0u) << l7test::toJsonLines(records);
  EXPECT_NE(l7test::byType(records, "Basic.Publish"), nullptr) << l7test::toJsonLines(records);
  EXPECT_NE(l7test::byType(records, "Basic.Deliver"), nullptr);
  EXPECT_EQ(get(records, "Queue.Declare").type, RecordType::kSession);
  EXPECT_EQ(get(records, "Content-Body").f.request_domain, "");
  // Once a method of the channel is decoded, a body frame without its
  // header is an error again; on another channel it is still passed over.
  const auto later = l7test::replayMidStream(
      {{kC2S, body(1, "tail of a body") + channelOpen(1) + body(2, "tail of another") + body(1, "stray"), 1}}, 5672);
  ASSERT_EQ(parseFailures(later), 1u) << l7test::toJsonLines(later);
  EXPECT_EQ(get(later, "Content-Body").f.response_exception, "body frame without a content header");
}

// DeepFlow's captures: the method frames, their endpoints and vhost agree
// with its .result lines (one line per frame before merging; we fold each
// -Ok into its request's record and take one record per body).
TEST(AmqpDeepFlow, AgreesWithResultFiles) {
  const std::filesystem::path dir = l7test::deepflowCaptures("amqp");
  if (dir.empty()) GTEST_SKIP();
  size_t compared = 0;
  for (const char* name : {"amqp1", "amqp2"}) {
    std::ifstream in(dir / (std::string(name) + ".result"));
    ASSERT_TRUE(in);
    l7h::ReplayOptions options;
    options.force_protocol = "amqp";
    const auto records = l7h::replayCaptureToVector((dir / (std::string(name) + ".pcap")).string(), options);
    ASSERT_EQ(parseFailures(records), 0u) << name;
    // Each of DeepFlow's lines as the record type it becomes here.
    std::vector<std::string> expected;
    std::vector<std::string> endpoints, traces;
    std::string line;
    auto field = [&](const std::string& key) -> std::string {
      const size_t at = line.find(key + ": ");
      if (at == std::string::npos) return "";
      const size_t from = at + key.size() + 2;
      return line.substr(from, line.find_first_of(",}", from) - from);
    };
    while (std::getline(in, line)) {
      if (line.find("AmqpInfo") == std::string::npos) continue;
      const std::string frame_type = field("frame_type");
      const std::string msg_type = field("msg_type");
      if (line.find("is_protcol_header: true") != std::string::npos) {
        expected.push_back("Protocol-Header");
      } else if (frame_type == "Header") {
        expected.push_back("Content-Header");
        const size_t t = line.find("field: \"");
        if (t != std::string::npos) traces.push_back(line.substr(t + 8, line.find('"', t + 8) - t - 8));
      } else if (frame_type == "Body") {
        expected.push_back("Content-Body");
      } else if (frame_type == "Heartbeat") {
        expected.push_back("Heartbeat");
      } else if (msg_type != "Response") {
        expected.push_back(field("class_id") + "." + field("method_id"));
      } else {
        continue;  // folded into its request's record
      }
      const size_t e = line.find("endpoint: Some(\"");
      endpoints.push_back(e == std::string::npos ? "" : line.substr(e + 16, line.find('"', e + 16) - e - 16));
    }
    std::vector<std::string> actual;
    for (const Record& r : records) actual.push_back(r.f.request_type);
    ASSERT_EQ(actual, expected) << name << "\n" << l7test::toJsonLines(records);
    for (size_t i = 0; i < records.size(); ++i) {
      if (!endpoints[i].empty()) {
        EXPECT_EQ(records[i].f.endpoint, endpoints[i]) << name << " record " << i;
      }
      if (records[i].f.request_type == "Connection.Open") {
        EXPECT_EQ(records[i].f.request_domain, "/");
      }
      EXPECT_EQ(records[i].f.version, "0-9-1");
      ++compared;
    }
    size_t t = 0;
    for (const Record& r : records) {
      if (r.f.request_type == "Content-Header" && !r.f.trace_id.empty()) {
        ASSERT_LT(t, traces.size());
        EXPECT_EQ(r.f.trace_id, traces[t++]) << name;
      }
    }
    EXPECT_EQ(t, traces.size()) << name;
  }
  EXPECT_GE(compared, 30u);
}

}  // namespace
}  // namespace l7::amqp
