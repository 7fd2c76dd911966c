// MQTT decoder: wire edge cases through the production connection path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "capture/frame_builder.h"
#include "mqtt/mqtt_decoder.h"
#include "mqtt/mqtt_wire.h"
#include "session/connection.h"
#include "session/ordered_output.h"
#include "session/replay.h"
#include "support/conversation.h"
#include "support/deepflow_corpus.h"

namespace l7::mqtt {
namespace {

using l7test::runConversation;
using l7test::Split;
using l7test::Write;
using l7test::byType;
using l7test::get;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;

std::string str(std::string_view s) {
  std::string out;
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size() & 0xFF));
  out.append(s);
  return out;
}
std::string u16(uint16_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)}; }
std::string varint(uint32_t v) {
  std::string out;
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    if (v) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v);
  return out;
}
std::string packet(uint8_t first, const std::string& body) { return std::string(1, static_cast<char>(first)) + varint(static_cast<uint32_t>(body.size())) + body; }

std::string connect(uint8_t level, const std::string& client_id, bool props = false) {
  const std::string name = level == 3 ? "MQIsdp" : "MQTT";
  std::string body = str(name) + std::string(1, static_cast<char>(level)) + std::string(1, '\x02') + u16(60);
  if (props) body += varint(5) + "\x11" + std::string("\x00\x00\x00\x0a", 4);  // session expiry 10
  body += str(client_id);
  return packet(0x10, body);
}
std::string connack(uint8_t code, bool v5 = false) {
  return packet(0x20, std::string("\x00", 1) + std::string(1, static_cast<char>(code)) + (v5 ? std::string("\x00", 1) : ""));
}
std::string publish(const std::string& topic, uint8_t qos, uint16_t id, const std::string& payload, bool v5 = false) {
  std::string body = str(topic);
  if (qos) body += u16(id);
  if (v5) body += std::string("\x00", 1);
  return packet(static_cast<uint8_t>(0x30 | (qos << 1)), body + payload);
}
std::string ack(uint8_t type_nibble, uint16_t id) { return packet(static_cast<uint8_t>(type_nibble << 4 | (type_nibble == 6 ? 2 : 0)), u16(id)); }

TEST(MqttWire, FixedHeaderFlagsAndLength) {
  FixedHeader h;
  auto parse = [&](std::string s) { return parseFixedHeader(asBytes(s), false, h); };
  EXPECT_EQ(parse(std::string("\x82\x05", 2)), HeaderResult::kOk);             // SUBSCRIBE, flags 2
  EXPECT_EQ(parse(std::string("\x80\x05", 2)), HeaderResult::kInvalid);         // SUBSCRIBE, flags 0
  EXPECT_EQ(parse(std::string("\x36\x05", 2)), HeaderResult::kInvalid);         // PUBLISH QoS 3
  EXPECT_EQ(parse(std::string("\x00\x00", 2)), HeaderResult::kInvalid);         // type 0
  EXPECT_EQ(parse(std::string("\xF0\x00", 2)), HeaderResult::kInvalid);         // AUTH before MQTT 5
  EXPECT_EQ(parse(std::string("\xC0\x01", 2)), HeaderResult::kInvalid);         // PINGREQ with a body
  EXPECT_EQ(parse(std::string("\x30\xFF\xFF\xFF\xFF\x01", 6)), HeaderResult::kInvalid);  // 5-byte length
  EXPECT_EQ(parse(std::string("\x30\xFF\xFF", 3)), HeaderResult::kNeedMore);
  EXPECT_EQ(parse(std::string("\x30\xFF\xFF\xFF\x7F", 5)), HeaderResult::kOk);
  EXPECT_EQ(h.remaining, 268435455u);
}

TEST(MqttDecoder, ConnackCodesMapToStatus) {
  struct Case {
    uint8_t level, code;
    ResponseStatus status;
  };
  for (const Case c : {Case{4, 0, ResponseStatus::kOk}, Case{4, 1, ResponseStatus::kClientError},
                       Case{4, 2, ResponseStatus::kClientError}, Case{4, 3, ResponseStatus::kServerError},
                       Case{4, 4, ResponseStatus::kClientError}, Case{4, 5, ResponseStatus::kClientError},
                       Case{3, 3, ResponseStatus::kServerError}, Case{5, 0x86, ResponseStatus::kClientError},
                       Case{5, 0x88, ResponseStatus::kServerError}, Case{5, 0x9F, ResponseStatus::kClientError},
                       Case{5, 0x97, ResponseStatus::kServerError}}) {
    const auto records = runConversation(
        mqttDecoderInfo(), {{kC2S, connect(c.level, "dev-1", c.level == 5), 10}, {kS2C, connack(c.code, c.level == 5), 20}});
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].f.response_status, c.status) << int(c.level) << " " << int(c.code);
    EXPECT_EQ(records[0].f.response_code, c.code);
    EXPECT_EQ(records[0].f.version, versionName(c.level));
    EXPECT_EQ(records[0].f.request_domain, "dev-1");
    EXPECT_EQ(records[0].f.response_exception.empty(), c.status == ResponseStatus::kOk);
  }
}

TEST(MqttDecoder, PacketIdsPairPerDirectionAndExchange) {
  // Client and broker both use packet id 1 at once; QoS 2 has two exchanges.
  const auto records = runConversation(mqttDecoderInfo(), {
                                                              {kC2S, connect(4, "c"), 1},
                                                              {kS2C, connack(0), 2},
                                                              {kC2S, publish("a/b", 1, 1, "x"), 3},
                                                              {kS2C, publish("c/d", 2, 1, "y"), 4},
                                                              {kC2S, ack(5, 1), 5},   // PUBREC for the broker's
                                                              {kS2C, ack(4, 1), 6},   // PUBACK for the client's
                                                              {kS2C, ack(6, 1), 7},   // PUBREL by the broker
                                                              {kC2S, ack(7, 1), 8},   // PUBCOMP
                                                              {kC2S, publish("q0", 0, 0, "z"), 9},
                                                          });
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[1].f.request_type, "PUBLISH");
  EXPECT_EQ(records[1].f.request_resource, "a/b");
  EXPECT_EQ(records[1].end_time_us, 6);
  EXPECT_EQ(records[2].f.request_resource, "c/d");
  EXPECT_EQ(records[2].end_time_us, 5);
  EXPECT_EQ(records[3].f.request_type, "PUBREL");
  EXPECT_EQ(records[3].end_time_us, 8);
  EXPECT_EQ(records[4].type, RecordType::kSession);
  EXPECT_EQ(records[4].response_duration_us, 0);
  for (const auto& r : records) {
    EXPECT_EQ(r.type, RecordType::kSession);
    EXPECT_EQ(r.f.request_domain, "c");
  }
}

TEST(MqttDecoder, SubscribeFiltersAndRefusal) {
  const std::string sub = packet(0x82, u16(7) + str("a/+") + std::string("\x01", 1) + str("b/#") + std::string("\x00", 1));
  const std::string suback = packet(0x90, u16(7) + std::string("\x01\x80", 2));
  const auto records = runConversation(mqttDecoderInfo(), {{kC2S, sub, 1}, {kS2C, suback, 2}});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].f.request_resource, "a/+,b/#");
  EXPECT_EQ(records[0].f.endpoint, "a/+,b/#");
  EXPECT_EQ(records[0].f.response_status, ResponseStatus::kServerError);
}

TEST(MqttDecoder, MalformedPacketsAreReportedAndSkipped) {
  const auto records = runConversation(
      mqttDecoderInfo(),
      {{kC2S, connect(5, "v5", true), 1},
       {kC2S, packet(0x30, str("t") + varint(3) + "\x7F\x00\x01" + "payload"), 2},  // unknown property 0x7F
       {kC2S, packet(0x30, str("t") + varint(40) + "\x01\x01"), 3},                 // property length past the end
       {kC2S, packet(0x82, u16(1) + std::string("\x00", 1) + str("x") + "\x03"), 4},  // QoS 3 requested
       {kC2S, publish("ok", 0, 0, "fine", true), 5}});
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[1].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[1].f.request_type, "PUBLISH");
  EXPECT_EQ(records[2].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[3].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[4].f.request_resource, "ok");
  EXPECT_EQ(records[4].f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(records[0].type, RecordType::kRequest);  // the CONNECT never answered
}

TEST(MqttDecoder, OversizedPublishIsDecodedFromItsPrefix) {
  l7h::ReplayOptions options;
  options.limits.max_buffered_bytes = 4096;
  options.limits.max_message_bytes = 1 << 20;
  const auto records = runConversation(mqttDecoderInfo(),
                                       {{kC2S, publish("big/one", 1, 9, std::string(100000, 'p')), 1},
                                        {kS2C, ack(4, 9), 2},
                                        {kC2S, packet(0x30, str("t") + std::string(2 << 20, 'x')), 3},
                                        {kC2S, publish("after", 0, 0, "!"), 4}},
                                       Split::kRandom, 3, options);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].f.request_resource, "big/one");
  EXPECT_EQ(records[0].type, RecordType::kSession);
  EXPECT_EQ(records[1].f.response_status, ResponseStatus::kParseFailed);  // over max_message_bytes
  EXPECT_EQ(records[2].f.request_resource, "after");
}

TEST(MqttDecoder, SameRecordsAtAnySegmentation) {
  const std::vector<Write> conversation = {
      {kC2S, connect(4, "seg") + packet(0x82, u16(2) + str("s/#") + std::string("\x01", 1)), 1},
      {kS2C, connack(0) + packet(0x90, u16(2) + std::string("\x01", 1)) + publish("s/1", 1, 3, "hello"), 2},
      {kC2S, ack(4, 3) + packet(0xC0, "") + std::string("\x31\x00", 2) /* junk */ + publish("p", 0, 0, "x"), 3},
      {kS2C, packet(0xD0, ""), 4},
  };
  const std::string whole = l7test::toJsonLines(runConversation(mqttDecoderInfo(), conversation));
  EXPECT_NE(whole.find("PINGREQ"), std::string::npos);
  EXPECT_EQ(l7test::toJsonLines(runConversation(mqttDecoderInfo(), conversation, Split::kOneByte)), whole);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(l7test::toJsonLines(runConversation(mqttDecoderInfo(), conversation, Split::kRandom, seed)), whole);
  }
}

TEST(MqttDecoder, TruncatedPacketAtEndOfStream) {
  const std::string p = publish("topic", 0, 0, "payload");
  const auto records = runConversation(mqttDecoderInfo(), {{kC2S, p.substr(0, p.size() - 3), 1}});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[0].f.request_type, "PUBLISH");
}

TEST(MqttProbe, OnlyConnectIdentifiesMqtt) {
  EXPECT_EQ(probeMqtt(asBytes(connect(4, "x"))), ProbeVerdict::kFromClient);
  EXPECT_EQ(probeMqtt(asBytes(connect(3, "x"))), ProbeVerdict::kFromClient);
  EXPECT_EQ(probeMqtt(asBytes(connect(5, "x", true))), ProbeVerdict::kFromClient);
  EXPECT_EQ(probeMqtt(asBytes(std::string("\x10", 1))), ProbeVerdict::kNeedMore);
  EXPECT_EQ(probeMqtt(asBytes(publish("a", 0, 0, "b"))), ProbeVerdict::kNo);
  EXPECT_EQ(probeMqtt(asBytes(std::string("GET / HTTP/1.1\r\n"))), ProbeVerdict::kNo);
}

// ------------------------------------------------ strictness, per version

// CONNECT with chosen connect flags (bit 1 clean session is set by callers)
// and whatever the flags say follows the client id.
std::string connectFlags(uint8_t level, uint8_t flags, const std::string& after_client_id = "") {
  const std::string name = level == 3 ? "MQIsdp" : "MQTT";
  std::string body = str(name) + std::string(1, static_cast<char>(level)) + std::string(1, static_cast<char>(flags)) +
                     u16(60);
  if (level == 5) body += varint(0);
  body += str("w") + after_client_id;
  return packet(0x10, body);
}

// Records of a conversation that opens with CONNECT/CONNACK at `level`,
// then `tail` from the client, then a PINGREQ/PINGRESP that must still pair
// (the decoder goes on after a malformed packet).
std::vector<Record> afterConnect(uint8_t level, const std::vector<Write>& middle) {
  std::vector<Write> w = {{kC2S, connect(level, "s", level == 5), 1}, {kS2C, connack(0, level == 5), 2}};
  w.insert(w.end(), middle.begin(), middle.end());
  w.push_back({kC2S, packet(0xC0, ""), 90});
  w.push_back({kS2C, packet(0xD0, ""), 91});
  return runConversation(mqttDecoderInfo(), w);
}

void expectPingStillPairs(const std::vector<Record>& records) {
  const Record* ping = byType(records, "PINGREQ");
  ASSERT_NE(ping, nullptr);
  EXPECT_EQ(ping->type, RecordType::kSession);
  EXPECT_EQ(ping->end_time_us, 91);
}

TEST(MqttStrictness, V3DisconnectHasNoBody) {
  for (uint8_t level : {3, 4}) {
    SCOPED_TRACE(int(level));
    const auto bad = afterConnect(level, {{kC2S, packet(0xE0, std::string("\x00", 1)), 10}});
    const Record* d = byType(bad, "DISCONNECT");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->f.response_status, ResponseStatus::kParseFailed);
    EXPECT_EQ(d->f.response_exception, "DISCONNECT remaining length is not 0");
    EXPECT_EQ(d->captured_request_byte, 3u);  // the whole framed packet
    expectPingStillPairs(bad);
    const auto good = afterConnect(level, {{kC2S, packet(0xE0, ""), 10}});
    EXPECT_EQ(get(good, "DISCONNECT").f.response_status, ResponseStatus::kOk);
  }
  // 5.0: a reason code (and properties) is the normal form.
  const auto v5 = afterConnect(5, {{kC2S, packet(0xE0, std::string("\x00\x00", 2)), 10}});
  EXPECT_EQ(get(v5, "DISCONNECT").f.response_status, ResponseStatus::kOk);
  // Level unknown (no CONNECT seen): not refused, it may be 5.0.
  const auto unknown = runConversation(mqttDecoderInfo(), {{kC2S, packet(0xE0, std::string("\x00", 1)), 10}});
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].f.response_status, ResponseStatus::kOk);
}

TEST(MqttStrictness, V3AcknowledgementsAreExactlyTwoBytes) {
  struct Case {
    uint8_t first;
    Direction dir;
    const char* name;
  };
  for (const Case c : {Case{0x40, kS2C, "PUBACK"}, Case{0x50, kS2C, "PUBREC"}, Case{0x62, kC2S, "PUBREL"},
                       Case{0x70, kS2C, "PUBCOMP"}, Case{0xB0, kS2C, "UNSUBACK"}}) {
    for (uint8_t level : {3, 4, 5}) {
      SCOPED_TRACE(std::string(c.name) + " level " + std::to_string(level));
      const std::string three = packet(c.first, u16(9) + std::string("\x00", 1));
      const auto records = afterConnect(level, {{c.dir, three, 10}});
      const Record* r = byType(records, c.name);
      ASSERT_NE(r, nullptr);
      if (level == 5) {
        // 5.0: a reason code after the identifier is the normal form.
        EXPECT_NE(r->f.response_status, ResponseStatus::kParseFailed);
      } else {
        EXPECT_EQ(r->f.response_status, ResponseStatus::kParseFailed);
        EXPECT_NE(r->f.response_exception.find("remaining length is not 2"), std::string::npos)
            << r->f.response_exception;
      }
      expectPingStillPairs(records);
      if (level == 5) continue;  // (a 5.0 UNSUBACK needs properties and reason codes)
      const auto two = afterConnect(level, {{c.dir, packet(c.first, u16(9)), 10}});
      EXPECT_NE(get(two, c.name).f.response_status, ResponseStatus::kParseFailed);
    }
  }
  // CONNACK of 3.x is two bytes too.
  const auto records = runConversation(
      mqttDecoderInfo(), {{kC2S, connect(4, "c"), 1}, {kS2C, packet(0x20, std::string("\x00\x00\x00", 3)), 2}});
  const Record* ack = byType(records, "CONNACK");
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(ack->f.response_exception, "CONNACK remaining length is not 2");
}

TEST(MqttStrictness, ConnectWillQosAndRetainNeedTheWillFlag) {
  const std::string will = str("last/will") + str("bye");
  struct Case {
    uint8_t flags;
    bool with_will_payload;
    bool malformed_31, malformed_311_50;
  };
  for (const Case c : {
           Case{0x02 | 0x04 | 0x18, true, true, true},   // will QoS 3
           Case{0x02 | 0x08, false, false, true},        // will QoS 1, no will flag
           Case{0x02 | 0x20, false, false, true},        // will retain, no will flag
           Case{0x02 | 0x04 | 0x08 | 0x20, true, false, false},  // will, QoS 1, retained: fine
           Case{0x02 | 0x04 | 0x10, true, false, false},          // will QoS 2: fine
       }) {
    for (uint8_t level : {3, 4, 5}) {
      SCOPED_TRACE(std::string("flags ") + std::to_string(c.flags) + " level " + std::to_string(level));
      std::string after = c.with_will_payload ? (level == 5 ? varint(0) : "") + will : "";
      const auto records = runConversation(
          mqttDecoderInfo(), {{kC2S, connectFlags(level, c.flags, after) + packet(0xC0, ""), 1}, {kS2C, packet(0xD0, ""), 2}});
      const Record* r = byType(records, "CONNECT");
      ASSERT_NE(r, nullptr);
      const bool malformed = level == 3 ? c.malformed_31 : c.malformed_311_50;
      EXPECT_EQ(r->f.response_status == ResponseStatus::kParseFailed, malformed) << r->f.response_exception;
      if (malformed) {
        EXPECT_EQ(r->f.response_exception,
                  (c.flags & 0x18) == 0x18 ? "will QoS 3" : "will QoS or retain set without the will flag");
      }
      const Record* ping = byType(records, "PINGREQ");
      ASSERT_NE(ping, nullptr);
      EXPECT_EQ(ping->type, RecordType::kSession);
    }
  }
}

TEST(MqttStrictness, SubscribeOptionReservedBitsAndQos3) {
  struct Case {
    uint8_t options;
    bool bad_31, bad_311, bad_50, bad_unknown;
  };
  for (const Case c : {
           Case{0x01, false, false, false, false},
           Case{0x03, true, true, true, true},     // QoS 3
           Case{0x04, false, true, false, false},  // 5.0 No Local; reserved in 3.1.1
           Case{0x2A, false, true, false, false},  // 5.0 retain handling 2, RAP, QoS 2
           Case{0x30, false, true, true, false},   // retain handling 3
           Case{0x40, false, true, true, true},    // bit 6 reserved
           Case{0x80, false, true, true, true},    // bit 7 reserved
       }) {
    const std::string body_v3 = u16(4) + str("a/#") + std::string(1, static_cast<char>(c.options));
    const std::string body_v5 = u16(4) + varint(0) + str("a/#") + std::string(1, static_cast<char>(c.options));
    for (int level : {3, 4, 5, 0}) {
      SCOPED_TRACE(std::string("options ") + std::to_string(c.options) + " level " + std::to_string(level));
      const std::string sub = packet(0x82, level == 5 ? body_v5 : body_v3);
      const auto records =
          level == 0 ? runConversation(mqttDecoderInfo(), {{kC2S, sub + packet(0xC0, ""), 1}, {kS2C, packet(0xD0, ""), 91}})
                     : afterConnect(static_cast<uint8_t>(level), {{kC2S, sub, 10}});
      const Record* r = byType(records, "SUBSCRIBE");
      ASSERT_NE(r, nullptr);
      const bool bad = level == 3 ? c.bad_31 : level == 4 ? c.bad_311 : level == 5 ? c.bad_50 : c.bad_unknown;
      EXPECT_EQ(r->f.response_status == ResponseStatus::kParseFailed, bad) << r->f.response_exception;
      if (!bad) {
        EXPECT_EQ(r->f.request_resource, "a/#");
      }
      expectPingStillPairs(records);
    }
  }
}

// --------------------------------------------- gaps and mid-stream joins

// Mid-stream captures on MQTT's port (l7test::replayMidStream).
std::vector<Record> replayMidStream(const std::vector<Write>& segments, l7h::ReplayResult* result = nullptr) {
  return l7test::replayMidStream(segments, 1883, result);
}

TEST(MqttResync, MidStreamJoinOnPort1883WithoutConnect) {
  // The capture begins in the payload of a PUBLISH on each side.
  // (Bytes that cannot start a packet: type 0, or flags a type forbids.)
  const std::string lost_tail = std::string("\x00\x0f\x01\xff\x00\x4c\x4c\x6f", 8);
  const std::vector<Write> segments = {
      {kC2S, lost_tail + publish("a/b", 1, 5, "one") + packet(0xC0, ""), 1000},
      {kS2C, std::string("\x7f\x00\x10", 3) + ack(4, 5) + packet(0xD0, ""), 2000},
      {kC2S, publish("c/d", 0, 0, "two") + ack(4, 9), 3000},
  };
  l7h::ReplayResult result;
  const auto records = replayMidStream(segments, &result);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(records.size(), 4u) << l7test::toJsonLines(records);
  for (const Record& r : records) {
    EXPECT_EQ(r.l7_protocol, L7Protocol::kMqtt);
    EXPECT_EQ(r.server_port, 1883);
    EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed) << r.f.request_type;  // debris is silent
    EXPECT_EQ(r.f.version, "");         // no CONNECT: level unknown
    EXPECT_EQ(r.f.request_domain, "");  // and no client id
  }
  const Record* pub = byType(records, "PUBLISH");
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(pub->f.request_resource, "a/b");
  EXPECT_EQ(pub->type, RecordType::kSession);
  EXPECT_EQ(pub->end_time_us, 2000);
  EXPECT_EQ(get(records, "PINGREQ").type, RecordType::kSession);
  EXPECT_EQ(get(records, "PUBLISH", 1).f.request_resource, "c/d");
  // The client's PUBACK for an id the broker used before the capture began.
  EXPECT_EQ(get(records, "PUBACK").type, RecordType::kResponse);
}

TEST(MqttResync, GapInTheMiddleLosesOnlyThePacketItCuts) {
  const std::string cut = publish("lost/topic", 1, 1, std::string(40, 'L'));
  const std::string after = publish("after/1", 1, 2, "a") + publish("after/2", 0, 0, "b") + packet(0xC0, "") +
                            publish("after/3", 2, 3, "c");
  for (size_t lost_at : {size_t{1}, size_t{3}, size_t{12}, cut.size() - 1}) {
    SCOPED_TRACE(std::string("gap at ") + std::to_string(lost_at));
    const l7test::ScriptedConnection run(mqttDecoderInfo(), [&](l7h::Connection& conn) {
      const std::string c1 = connect(4, "gap") + cut.substr(0, lost_at);
      conn.data(kC2S, 0, 1, 10, asBytes(c1));
      conn.data(kS2C, 0, 1, 20, asBytes(connack(0)));
      // Five bytes of the PUBLISH are lost; its remainder arrives first.
      const size_t resume = std::min(lost_at + 5, cut.size());
      conn.gap(kC2S, resume - lost_at);
      const std::string c2 = cut.substr(resume) + after;
      conn.data(kC2S, c1.size() + (resume - lost_at), 1, 30, asBytes(c2));
      const std::string s2 = ack(4, 1) + ack(4, 2) + packet(0xD0, "") + ack(5, 3);
      conn.data(kS2C, connack(0).size(), 1, 40, asBytes(s2));
    });
    const std::vector<Record>& records = run.records;
    EXPECT_EQ(run.counters.parse_failures, 0u) << l7test::toJsonLines(records);
    EXPECT_EQ(get(records, "CONNECT").type, RecordType::kSession);
    for (const char* topic : {"after/1", "after/2", "after/3"}) {
      bool found = false;
      for (const Record& r : records) {
        if (r.f.request_resource != topic) continue;
        found = true;
        EXPECT_EQ(r.type, RecordType::kSession) << topic;
        EXPECT_EQ(r.f.version, "3.1.1");
      }
      EXPECT_TRUE(found) << topic << "\n" << l7test::toJsonLines(records);
    }
    EXPECT_EQ(get(records, "PINGREQ").type, RecordType::kSession);
    // The cut PUBLISH is gone; its PUBACK is a lone response.
    for (const Record& r : records) EXPECT_NE(r.f.request_resource, "lost/topic");
    const Record* lone = byType(records, "PUBACK");
    ASSERT_NE(lone, nullptr);
    EXPECT_EQ(lone->type, RecordType::kResponse);
  }
}

// The confirming chain is decoded, none of it swallowed: the broker loses
// bytes inside a PUBLISH, and the PUBACK, PUBREC and PUBCOMP that follow
// (the chain that resynchronizes the broker side) each pair with their
// client requests.
TEST(MqttResync, EveryAcknowledgementOfTheConfirmingChainPairs) {
  const l7test::ScriptedConnection run(mqttDecoderInfo(), [&](l7h::Connection& conn) {
    const std::string c1 = connect(4, "chain") + publish("q1", 1, 11, "a") + publish("q2", 2, 12, "b");
    conn.data(kC2S, 0, 1, 10, asBytes(c1));
    const std::string big = publish("news", 0, 0, std::string(300, 'n'));
    const std::string s1 = connack(0) + big.substr(0, 50);
    conn.data(kS2C, 0, 1, 20, asBytes(s1));
    conn.gap(kS2C, 100);
    const std::string s2 = big.substr(150) + ack(4, 11) + ack(5, 12);
    conn.data(kS2C, s1.size() + 100, 1, 30, asBytes(s2));
    const std::string rel = ack(6, 12);
    conn.data(kC2S, c1.size(), 1, 40, asBytes(rel));
    conn.data(kS2C, s1.size() + 100 + s2.size(), 1, 50, asBytes(ack(7, 12)));
  });
  const std::vector<Record>& records = run.records;
  EXPECT_EQ(run.counters.parse_failures, 0u) << l7test::toJsonLines(records);
  const Record& q1 = get(records, "PUBLISH", 0);
  EXPECT_EQ(q1.f.request_resource, "q1");
  EXPECT_EQ(q1.type, RecordType::kSession) << "PUBACK paired";
  const Record& q2 = get(records, "PUBLISH", 1);
  EXPECT_EQ(q2.f.request_resource, "q2");
  EXPECT_EQ(q2.type, RecordType::kSession) << "PUBREC paired";
  EXPECT_EQ(get(records, "PUBREL").type, RecordType::kSession) << "PUBCOMP paired";
  EXPECT_EQ(byType(records, "PUBACK"), nullptr);
  EXPECT_EQ(byType(records, "PUBREC"), nullptr);
  EXPECT_EQ(byType(records, "PUBCOMP"), nullptr);
}

// A broker's QoS 0 PUBLISH loses 5 bytes of its payload; the rest of that
// payload holds `false_start`, then the broker's QoS 1 PUBLISH "real" (id 7),
// the client's PUBACK for it, and broker PUBLISHes "more" and "last". Returns the
// records; `before_close` gets the decoded message count and the buffered
// bytes just before the connection closes.
std::vector<Record> lossBeforeAFalseStart(const std::string& false_start, uint64_t before_close[2]) {
  // 'P' (0x50) would be a PUBREC, whose 3.1.1 remaining length is 2: 'P' (80) is refused at once.
  const std::string payload = std::string(200, 'P') + false_start + std::string(200, 'P');
  const std::string big = publish("big", 0, 0, payload);
  const l7test::ScriptedConnection run(mqttDecoderInfo(), [&](l7h::Connection& conn,
                                                              const l7h::ConnectionCounters& counters) {
    const std::string c1 = connect(4, "fs");
    conn.data(kC2S, 0, 1, 10, asBytes(c1));
    const std::string s1 = connack(0) + big.substr(0, 100);
    conn.data(kS2C, 0, 1, 20, asBytes(s1));
    conn.gap(kS2C, 5);
    uint64_t s_off = s1.size() + 5;
    const std::string s2 = big.substr(105);
    conn.data(kS2C, s_off, 1, 30, asBytes(s2));
    s_off += s2.size();
    const std::string real = publish("real", 1, 7, "x");
    conn.data(kS2C, s_off, 1, 40, asBytes(real));
    s_off += real.size();
    conn.data(kC2S, c1.size(), 1, 50, asBytes(ack(4, 7)));
    const std::string more = publish("more", 0, 0, "y");
    conn.data(kS2C, s_off, 1, 60, asBytes(more));
    s_off += more.size();
    conn.data(kS2C, s_off, 1, 70, asBytes(publish("last", 0, 0, "z")));
    before_close[0] = counters.messages;
    before_close[1] = conn.bufferedBytes();
  });
  return run.records;
}

// A false packet start inside the rest of a lost payload, claiming more
// bytes than will ever come (a QoS 1 PUBLISH of 2000 bytes whose topic and
// packet identifier look right), holds the broker side until the end; the
// client's PUBACK, decoded first, still pairs with the broker's PUBLISH
// decoded then, and nothing behind the false start is lost.
TEST(MqttResync, FalseStartInALostPayloadCostsNoRecordBehindIt) {
  uint64_t before_close[2] = {0, 0};
  const std::string false_start = std::string("\x32\xd0\x0f", 3) + str("t") + u16(9);
  const auto records = lossBeforeAFalseStart(false_start, before_close);
  EXPECT_GT(before_close[1], 0u) << "the broker side is held behind the false start";
  const Record* real = nullptr;
  const Record* more = nullptr;
  const Record* last = nullptr;
  for (const Record& r : records) {
    if (r.f.request_resource == "real") real = &r;
    if (r.f.request_resource == "more") more = &r;
    if (r.f.request_resource == "last") last = &r;
  }
  ASSERT_NE(real, nullptr) << l7test::toJsonLines(records);
  EXPECT_EQ(real->type, RecordType::kSession) << l7test::toJsonLines(records);
  EXPECT_EQ(real->start_time_us, 40);
  EXPECT_EQ(real->end_time_us, 50);
  EXPECT_NE(more, nullptr) << l7test::toJsonLines(records);
  EXPECT_NE(last, nullptr) << l7test::toJsonLines(records);
  // CONNECT/CONNACK and the real exchange are sessions; no lone answer.
  for (const Record& r : records) EXPECT_NE(r.type, RecordType::kResponse) << r.f.request_type;
}

// A false PUBLISH start whose first body bytes already break its rules (a
// 65535-byte topic in a 2000-byte packet) is refused at once rather than
// waited for: once the real QoS 1 PUBLISH has come, only its bytes are held
// (it waits for the packet after it), not the debris from the false start on.
TEST(MqttResync, FalseStartWhoseTopicCannotFitIsNotWaitedFor) {
  const std::string false_start = std::string("\x30\xd0\x0f\xff\xff", 5);
  const std::string payload = std::string(200, 'P') + false_start + std::string(200, 'P');
  const std::string big = publish("big", 0, 0, payload);
  const std::string real = publish("real", 1, 7, "x");
  const l7test::ScriptedConnection run(mqttDecoderInfo(), [&](l7h::Connection& conn) {
    conn.data(kC2S, 0, 1, 10, asBytes(connect(4, "fs")));
    const std::string s1 = connack(0) + big.substr(0, 100);
    conn.data(kS2C, 0, 1, 20, asBytes(s1));
    conn.gap(kS2C, 5);
    const std::string s2 = big.substr(105) + real;
    conn.data(kS2C, s1.size() + 5, 1, 30, asBytes(s2));
    EXPECT_EQ(conn.bufferedBytes(), real.size());
  });
}

// Joined mid-stream at a large PUBLISH arriving one byte at a time, whose
// payload holds three PUBCOMP-shaped packets back to back: the PUBLISH is
// still the one decoded. (A waited-for start was once given up for a later
// chain of three reaching the end of the data, and random payloads arriving
// a byte at a time offer such a chain a new end with each byte.)
TEST(MqttResync, AChainInsideALargePublishArrivingByteByByteIsNotTaken) {
  const std::string fake = ack(7, 1) + ack(7, 2) + ack(7, 3);
  const std::string big = publish("big/topic", 0, 0, std::string(300, 'P') + fake + std::string(300, 'P'));
  const std::string broker = big + packet(0xD0, "");
  const l7test::ScriptedConnection run(mqttDecoderInfo(), [&](l7h::Connection& conn) {
    conn.gap(kC2S, 0);
    conn.gap(kS2C, 0);
    for (size_t i = 0; i < broker.size(); ++i) {
      conn.data(kS2C, i, 1, static_cast<int64_t>(10 + i), asBytes(std::string_view(broker).substr(i, 1)));
    }
  });
  EXPECT_EQ(byType(run.records, "PUBCOMP"), nullptr) << l7test::toJsonLines(run.records);
  EXPECT_EQ(get(run.records, "PUBLISH").f.request_resource, "big/topic");
  EXPECT_EQ(run.counters.parse_failures, 0u);
}

// Joined after the CONNECT: the client's PINGREQ waits to be confirmed by
// the packet after it, while the broker has CONNACK and PINGRESP, two
// packets, at once. The PINGRESP is decoded first and finds no request, but
// the client side still holds bytes from before it, so the session keeps it
// until the PINGREQ is decoded, and they pair by order.
TEST(MqttResync, OrderPairingAcrossTheResyncWaitAfterAJoin) {
  const std::vector<Write> segments = {
      {kS2C, connack(0), 1000},
      {kC2S, packet(0xC0, ""), 1100},
      {kS2C, packet(0xD0, ""), 1200},
      {kC2S, packet(0xA2, u16(3) + str("a/#")), 1300},
      {kS2C, ack(11, 3), 1400},
      {kC2S, packet(0xE0, ""), 1500},
  };
  l7h::ReplayResult result;
  const auto records = replayMidStream(segments, &result);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(records.size(), 4u) << l7test::toJsonLines(records);
  EXPECT_EQ(get(records, "CONNACK").type, RecordType::kResponse);  // its CONNECT is before the capture
  const Record& ping = get(records, "PINGREQ");
  EXPECT_EQ(ping.type, RecordType::kSession);
  EXPECT_EQ(ping.start_time_us, 1100);
  EXPECT_EQ(ping.end_time_us, 1200);
  EXPECT_EQ(get(records, "UNSUBSCRIBE").type, RecordType::kSession);
  EXPECT_EQ(get(records, "DISCONNECT").type, RecordType::kSession);  // one-way
}

// The same by packet identifier, and at the end of the capture: the broker
// waits on its QoS 1 PUBLISH (nothing follows it), the client's PUBACK for
// it is decoded first and kept by the session, and the capture ends: the
// broker's last packet is then accepted, so the PUBACK still pairs; and a
// client PUBLISH waiting the same way gets its PUBACK.
TEST(MqttResync, IdPairingAcrossTheResyncWaitUpToTheEndOfTheCapture) {
  {
    const std::vector<Write> segments = {
        {kC2S, publish("p", 1, 4, "z"), 1000},
        {kS2C, ack(4, 4) + publish("q", 0, 0, "w"), 1100},
        {kC2S, packet(0xC0, ""), 1200},
        {kS2C, packet(0xD0, ""), 1300},
    };
    const auto records = replayMidStream(segments);
    const Record& p = get(records, "PUBLISH");
    EXPECT_EQ(p.f.request_resource, "p");
    EXPECT_EQ(p.type, RecordType::kSession) << l7test::toJsonLines(records);
    EXPECT_EQ(p.end_time_us, 1100);
    EXPECT_EQ(get(records, "PINGREQ").type, RecordType::kSession);
  }
  {
    const std::vector<Write> segments = {
        {kS2C, publish("s", 1, 3, "v"), 1000},
        {kC2S, ack(4, 3) + packet(0xC0, ""), 1100},
    };
    const auto records = replayMidStream(segments);
    ASSERT_EQ(records.size(), 2u) << l7test::toJsonLines(records);
    const Record& s = get(records, "PUBLISH");
    EXPECT_EQ(s.type, RecordType::kSession) << l7test::toJsonLines(records);
    EXPECT_EQ(s.end_time_us, 1100);
    EXPECT_EQ(get(records, "PINGREQ").type, RecordType::kRequest);  // unanswered
  }
}

// ------------------------------------------------------------ MQTT 5.0

// A 5.0 property list: its length, then the encoded properties.
std::string props(const std::string& encoded) { return varint(static_cast<uint32_t>(encoded.size())) + encoded; }

TEST(MqttV5, AuthExchangeIsDecodedAsOneWayRecords) {
  const std::string method = std::string("\x15", 1) + str("SCRAM-SHA-1");
  const std::string data = std::string("\x16", 1) + str("client-first");
  std::string connect_body = str("MQTT") + "\x05" + "\x02" + u16(30) + props(method + data) + str("auth-dev");
  const std::vector<Write> w = {
      {kC2S, packet(0x10, connect_body), 1},
      {kS2C, packet(0xF0, std::string("\x18", 1) + props(method + data)), 2},   // continue authentication
      {kC2S, packet(0xF0, std::string("\x18", 1) + props(method + data)), 3},
      {kS2C, packet(0x20, std::string("\x00\x00", 2) + props(method)), 4},    // CONNACK success
      {kC2S, packet(0xF0, std::string("\x19", 1) + props(method)), 5},         // re-authenticate
      {kS2C, packet(0xF0, ""), 6},                                            // success, short form
      {kS2C, packet(0xF0, std::string("\x18", 1) + props(std::string("\x7f", 1))), 7},  // unknown property
  };
  const auto records = runConversation(mqttDecoderInfo(), w);
  ASSERT_EQ(records.size(), 6u) << l7test::toJsonLines(records);
  EXPECT_EQ(records[0].f.request_type, "CONNECT");
  EXPECT_EQ(records[0].type, RecordType::kSession);
  EXPECT_EQ(records[0].end_time_us, 4);
  EXPECT_EQ(records[0].f.response_code, 0);
  size_t auths = 0;
  for (const Record& r : records) {
    if (r.f.request_type != "AUTH") continue;
    ++auths;
    EXPECT_EQ(r.type, RecordType::kSession);
    EXPECT_EQ(r.response_duration_us, 0);
    EXPECT_EQ(r.f.version, "5.0");
    EXPECT_EQ(r.f.request_domain, "auth-dev");
    if (r.start_time_us == 7) {
      EXPECT_EQ(r.f.response_status, ResponseStatus::kParseFailed);
    } else {
      EXPECT_EQ(r.f.response_status, ResponseStatus::kOk) << r.start_time_us;
      EXPECT_EQ(r.f.response_exception, "");
    }
  }
  EXPECT_EQ(auths, 5u);
  // AUTH does not exist before 5.0: an invalid fixed header, then resync.
  const auto v311 = runConversation(mqttDecoderInfo(), {{kC2S, connect(4, "x"), 1},
                                                        {kS2C, connack(0), 2},
                                                        {kS2C, packet(0xF0, "") + connack(0) + packet(0xD0, ""), 3}});
  size_t failures = 0;
  for (const Record& r : v311) {
    if (r.f.response_status != ResponseStatus::kParseFailed) continue;
    ++failures;
    EXPECT_EQ(r.f.response_exception, "invalid fixed header");
    EXPECT_EQ(r.start_time_us, 3);
  }
  EXPECT_EQ(failures, 1u);
  EXPECT_NE(byType(v311, "PINGRESP"), nullptr);  // resynchronized behind it
}

TEST(MqttPairing, UnsubscribeAndUnsubackPairByPacketId) {
  for (uint8_t level : {4, 5}) {
    SCOPED_TRACE(int(level));
    const bool v5 = level == 5;
    auto unsub = [&](uint16_t id, const std::string& filter) {
      return packet(0xA2, u16(id) + (v5 ? varint(0) : "") + str(filter));
    };
    auto unsuback = [&](uint16_t id, uint8_t reason) {
      return packet(0xB0, u16(id) + (v5 ? varint(0) + std::string(1, static_cast<char>(reason)) : ""));
    };
    const auto records = runConversation(mqttDecoderInfo(), {{kC2S, connect(level, "u", v5), 1},
                                                             {kS2C, connack(0, v5), 2},
                                                             {kC2S, unsub(3, "x/1"), 10},
                                                             {kC2S, unsub(4, "x/2"), 11},
                                                             {kS2C, unsuback(4, 0x11), 20},  // answered out of order
                                                             {kS2C, unsuback(3, 0x87), 21},
                                                             {kS2C, unsuback(8, 0x00), 22}});  // nobody asked
    const Record* first = nullptr;
    const Record* second = nullptr;
    for (const Record& r : records) {
      if (r.f.request_resource == "x/1") first = &r;
      if (r.f.request_resource == "x/2") second = &r;
    }
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(first->type, RecordType::kSession);
    EXPECT_EQ(first->end_time_us, 21);
    EXPECT_EQ(second->type, RecordType::kSession);
    EXPECT_EQ(second->end_time_us, 20);
    EXPECT_EQ(second->f.response_status, ResponseStatus::kOk);  // 0x11 No subscription existed: a success code
    if (v5) {
      EXPECT_EQ(first->f.response_status, ResponseStatus::kClientError);
      EXPECT_EQ(first->f.response_exception, "Not authorized");
    } else {
      EXPECT_EQ(first->f.response_status, ResponseStatus::kOk);
    }
    const Record* lone = byType(records, "UNSUBACK");
    ASSERT_NE(lone, nullptr);
    EXPECT_EQ(lone->type, RecordType::kResponse);
    EXPECT_EQ(lone->start_time_us, 22);
  }
}

TEST(MqttV5, PublishAcknowledgementAndDisconnectReasonCodes) {
  auto reasonAck = [](uint8_t first, uint16_t id, uint8_t reason) {
    return packet(first, u16(id) + std::string(1, static_cast<char>(reason)) + varint(0));
  };
  const auto records = runConversation(
      mqttDecoderInfo(),
      {{kC2S, connect(5, "r", true), 1},
       {kS2C, connack(0, true), 2},
       {kC2S, publish("q1/ok", 1, 1, "x", true), 10},
       {kS2C, reasonAck(0x40, 1, 0x10), 11},  // PUBACK: No matching subscribers (success)
       {kC2S, publish("q1/no", 1, 2, "x", true), 12},
       {kS2C, reasonAck(0x40, 2, 0x87), 13},  // PUBACK: Not authorized
       {kC2S, publish("q2/quota", 2, 3, "x", true), 14},
       {kS2C, reasonAck(0x50, 3, 0x97), 15},  // PUBREC: Quota exceeded
       {kS2C, packet(0xE0, std::string("\x8e", 1) + varint(0)), 16},  // DISCONNECT: Session taken over
       {kC2S, packet(0xE0, std::string("\x04", 1)), 17}});            // DISCONNECT with Will Message
  auto topic = [&](const char* t) -> const Record& {
    for (const Record& r : records) {
      if (r.f.request_resource == t) return r;
    }
    ADD_FAILURE() << "no record for " << t;
    return records.front();
  };
  EXPECT_EQ(topic("q1/ok").f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(topic("q1/ok").f.response_exception, "");
  EXPECT_EQ(topic("q1/no").f.response_status, ResponseStatus::kClientError);
  EXPECT_EQ(topic("q1/no").f.response_exception, "Not authorized");
  EXPECT_EQ(topic("q2/quota").f.response_status, ResponseStatus::kServerError);
  EXPECT_EQ(topic("q2/quota").f.response_exception, "Quota exceeded");
  for (const char* t : {"q1/ok", "q1/no", "q2/quota"}) {
    EXPECT_EQ(topic(t).type, RecordType::kSession) << t;
    EXPECT_EQ(topic(t).f.response_code, std::nullopt) << t;  // codes come from CONNACK only
  }
  const Record* taken = byType(records, "DISCONNECT");
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken->type, RecordType::kSession);
  EXPECT_EQ(taken->f.response_status, ResponseStatus::kClientError);
  EXPECT_EQ(taken->f.response_exception, "Session taken over");
  EXPECT_EQ(taken->f.response_code, std::nullopt);
  const Record* will = byType(records, "DISCONNECT", 1);
  ASSERT_NE(will, nullptr);
  EXPECT_EQ(will->f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(will->f.response_exception, "");
}

// ------------------------------------------------------------------ caps

// MQTT 5 PUBLISH with a property block (`props` without its length).
std::string publish5(const std::string& topic, uint8_t qos, uint16_t id, const std::string& props,
                     const std::string& payload) {
  std::string body = str(topic);
  if (qos) body += u16(id);
  body += varint(static_cast<uint32_t>(props.size())) + props;
  return packet(static_cast<uint8_t>(0x30 | (qos << 1)), body + payload);
}
std::string aliasProp(uint16_t alias) { return std::string("\x23", 1) + u16(alias); }
std::string userProp(const std::string& name, const std::string& value) {
  return std::string("\x26", 1) + str(name) + str(value);
}
// A 5.0 CONNECT whose properties announce Topic Alias Maximum `max`.
std::string connect5(const std::string& client_id, uint16_t alias_max) {
  const std::string props = std::string("\x22", 1) + u16(alias_max);
  return packet(0x10, str("MQTT") + std::string("\x05\x02", 2) + u16(60) + varint(3) + props + str(client_id));
}
std::string connack5(uint16_t alias_max) {
  const std::string props = std::string("\x22", 1) + u16(alias_max);
  return packet(0x20, std::string("\x00\x00", 2) + varint(3) + props);
}

// Topic aliases are per sending direction; an alias set by a PUBLISH with
// its topic resolves later PUBLISHes with an empty topic; one never set
// resolves to an empty topic (mqtt.tsv).
TEST(MqttV5, TopicAliasesResolvePerDirectionAndAnUnsetOneStaysEmpty) {
  const std::vector<Write> writes = {
      {kC2S, connect5("alias", 10), 1},
      {kS2C, connack5(10), 2},
      {kC2S, publish5("sensors/a", 0, 0, aliasProp(3), "1"), 3},
      {kC2S, publish5("", 0, 0, aliasProp(3), "2"), 4},
      {kS2C, publish5("", 0, 0, aliasProp(3), "3"), 5},  // the broker never set alias 3
      {kS2C, publish5("down/b", 0, 0, aliasProp(3), "4"), 6},
      {kS2C, publish5("", 0, 0, aliasProp(3), "5"), 7},
      {kC2S, publish5("", 0, 0, aliasProp(4), "6"), 8},  // never set
  };
  for (Split split : {Split::kWhole, Split::kOneByte}) {
    const std::vector<Record> records = runConversation(mqttDecoderInfo(), writes, split);
    ASSERT_EQ(records.size(), 7u) << l7test::toJsonLines(records);
    const char* expected[] = {"sensors/a", "sensors/a", "", "down/b", "down/b", ""};
    for (size_t i = 0; i < 6; ++i) {
      EXPECT_EQ(records[i + 1].f.request_resource, expected[i]) << "PUBLISH " << i;
      EXPECT_EQ(records[i + 1].f.endpoint, expected[i]) << "PUBLISH " << i;
      EXPECT_EQ(records[i + 1].f.response_status, ResponseStatus::kOk);
    }
  }
}

TEST(MqttV5, TopicAliasZeroIsMalformed) {
  const std::vector<Record> records = runConversation(
      mqttDecoderInfo(), {{kC2S, connect5("z", 10), 1}, {kS2C, connack5(10), 2},
                          {kC2S, publish5("t", 0, 0, aliasProp(0), "x"), 3}});
  EXPECT_EQ(get(records, "PUBLISH").f.response_status, ResponseStatus::kParseFailed);
}

// A broker that speaks only 3.1.1 (aedes) answers a 5.0 CONNECT with a
// two-byte CONNACK, return code 1: a refusal, not 5.0's success code 1.
TEST(MqttV5, AConnectAnsweredInThe311FormIsTheRefusalItIs) {
  const std::vector<Record> records =
      runConversation(mqttDecoderInfo(), {{kC2S, connect5("old", 0), 1}, {kS2C, connack(1), 2}});
  const Record& r = get(records, "CONNECT");
  EXPECT_EQ(r.type, RecordType::kSession);
  EXPECT_EQ(r.f.response_code, 1);
  EXPECT_EQ(r.f.response_status, ResponseStatus::kClientError);
  EXPECT_EQ(r.f.response_exception, "unacceptable protocol version");
}

// W3C Trace Context over MQTT: traceparent and sw8 in User Properties give
// the trace ids (extension, mqtt.tsv), on PUBLISH and the other packets
// that carry properties.
TEST(MqttV5, TraceContextFromUserProperties) {
  const std::string tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const std::vector<Record> records = runConversation(
      mqttDecoderInfo(),
      {{kC2S, connect5("trace", 0), 1},
       {kS2C, connack5(0), 2},
       {kC2S, publish5("t/1", 1, 5, userProp("traceparent", tp) + userProp("other", "x"), "p"), 3},
       {kS2C, packet(0x40, u16(5) + std::string("\x00", 1) + varint(static_cast<uint32_t>(userProp("traceparent", tp).size())) +
                               userProp("traceparent", tp)), 4}});
  const Record& p = get(records, "PUBLISH");
  EXPECT_EQ(p.f.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(p.f.span_id, "b7ad6b7169203331");
  EXPECT_EQ(p.type, RecordType::kSession);
}

TEST(MqttCaps, TopicFilterCountOverTheCapIsStatus6) {
  l7h::ReplayOptions options;
  options.limits.max_array_count = 3;
  auto subscribe = [](size_t filters) {
    std::string body = u16(1);
    for (size_t i = 0; i < filters; ++i) body += str(std::string("t/") + std::to_string(i)) + std::string("\x01", 1);
    return packet(0x82, body);
  };
  auto unsubscribe = [](size_t filters) {
    std::string body = u16(2);
    for (size_t i = 0; i < filters; ++i) body += str(std::string("t/") + std::to_string(i));
    return packet(0xA2, body);
  };
  for (size_t n : {3, 4}) {
    SCOPED_TRACE(n);
    const auto records = runConversation(mqttDecoderInfo(),
                                         {{kC2S, connect(4, "cap") + subscribe(n) + unsubscribe(n) + packet(0xC0, ""), 1},
                                          {kS2C, connack(0) + packet(0xD0, ""), 2}},
                                         Split::kWhole, 1, options);
    for (const char* type : {"SUBSCRIBE", "UNSUBSCRIBE"}) {
      const Record* r = byType(records, type);
      ASSERT_NE(r, nullptr) << type;
      if (n > 3) {
        EXPECT_EQ(r->f.response_status, ResponseStatus::kParseFailed) << type;
        EXPECT_EQ(r->f.response_exception, "too many topic filters") << type;
      } else {
        EXPECT_EQ(r->f.request_resource, "t/0,t/1,t/2") << type;
      }
    }
    EXPECT_EQ(get(records, "PINGREQ").type, RecordType::kSession);
  }
}

TEST(MqttCaps, PropertyCountOverTheCapIsStatus6) {
  l7h::ReplayOptions options;
  options.limits.max_array_count = 2;
  // Payload format indicator, message expiry interval, topic alias.
  const std::string p1 = std::string("\x01\x01", 2);
  const std::string p2 = std::string("\x02\x00\x00\x00\x3c", 5);
  const std::string p3 = std::string("\x23\x00\x07", 3);
  auto pub = [&](const std::string& topic, const std::string& encoded) {
    return packet(0x30, str(topic) + props(encoded) + "payload");
  };
  const auto records = runConversation(
      mqttDecoderInfo(),
      {{kC2S, connect(5, "p", true) + pub("two", p1 + p2) + pub("three", p1 + p2 + p3) + pub("after", p3), 1},
       {kS2C, connack(0, true), 2}},
      Split::kWhole, 1, options);
  ASSERT_EQ(records.size(), 4u) << l7test::toJsonLines(records);
  EXPECT_EQ(records[1].f.request_resource, "two");
  EXPECT_EQ(records[1].f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(records[2].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(records[2].f.response_exception, "bad PUBLISH properties");
  EXPECT_EQ(records[3].f.request_resource, "after");
  // The same cap holds for a CONNECT's properties.
  const std::string body = str("MQTT") + "\x05" + "\x02" + u16(30) + props(std::string("\x11\x00\x00\x00\x0a", 5) +
                           std::string("\x21\x00\x10", 3) + std::string("\x22\x00\x05", 3)) + str("dev");
  const auto c = runConversation(mqttDecoderInfo(), {{kC2S, packet(0x10, body), 1}}, Split::kWhole, 1, options);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(c[0].f.response_exception, "bad CONNECT properties");
}

// DeepFlow's captures: packet types, topics, client id and CONNACK codes
// agree with its .result lines (which print each packet before merging; we
// fold each response into its request's record).
TEST(MqttDeepFlow, AgreesWithResultFiles) {
  const std::filesystem::path dir = l7test::deepflowCaptures("mqtt");
  if (dir.empty()) GTEST_SKIP();
  size_t compared = 0;
  for (const char* name : {"mqtt_connect", "mqtt_pub"}) {
    std::ifstream in(dir / (std::string(name) + ".result"));
    ASSERT_TRUE(in);
    const auto records = l7h::replayCaptureToVector((dir / (std::string(name) + ".pcap")).string(), l7h::ReplayOptions{});
    std::vector<std::string> types, topics, client_ids;
    std::vector<int64_t> codes;
    std::string line;
    while (std::getline(in, line)) {
      const size_t t = line.find("pkt_type: ");
      if (t == std::string::npos) continue;
      std::string type = line.substr(t + 10, line.find_first_of(" ,{", t + 10) - t - 10);
      for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (type == "CONNACK" || type == "PUBACK" || type == "PUBREC" || type == "PUBCOMP" || type == "SUBACK") {
        const size_t code = line.find("code: Some(");
        if (code != std::string::npos) codes.push_back(std::stoll(line.substr(code + 11)));
        continue;  // folded into the request's record
      }
      types.push_back(type);
      const size_t topic = line.find("publish_topic: Some(\"");
      topics.push_back(topic == std::string::npos ? "" : line.substr(topic + 21, line.find('"', topic + 21) - topic - 21));
      const size_t cid = line.find("client_id: Some(\"");
      if (cid != std::string::npos) client_ids.push_back(line.substr(cid + 17, line.find('"', cid + 17) - cid - 17));
    }
    ASSERT_EQ(records.size(), types.size()) << name;
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(records[i].f.request_type, types[i]) << name << " record " << i;
      if (!topics[i].empty()) {
        EXPECT_EQ(records[i].f.request_resource, topics[i]);
      }
      EXPECT_NE(records[i].f.response_status, ResponseStatus::kParseFailed);
      ++compared;
    }
    ASSERT_FALSE(client_ids.empty());
    EXPECT_EQ(records[0].f.request_domain, client_ids[0]);
    ASSERT_FALSE(codes.empty());
    EXPECT_EQ(records[0].f.response_code, codes[0]);
  }
  EXPECT_GE(compared, 4u);
}

}  // namespace
}  // namespace l7::mqtt
