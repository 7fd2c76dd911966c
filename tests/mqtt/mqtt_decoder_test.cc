// MQTT decoder: wire edge cases through the production connection path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mqtt/mqtt_decoder.h"
#include "mqtt/mqtt_wire.h"
#include "session/replay.h"
#include "support/conversation.h"

namespace l7::mqtt {
namespace {

using l7test::runConversation;
using l7test::Split;
using l7test::Write;
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

// DeepFlow's captures: packet types, topics, client id and CONNACK codes
// agree with its .result lines (which print each packet before merging; we
// fold each response into its request's record).
TEST(MqttDeepFlow, AgreesWithResultFiles) {
  const std::filesystem::path dir = std::filesystem::path(L7_SHARED_CORPUS) / "mqtt";
  if (!std::filesystem::is_directory(dir)) {
    std::printf("DeepFlow MQTT corpus not found at %s: skipping\n", dir.c_str());
    GTEST_SKIP();
  }
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
