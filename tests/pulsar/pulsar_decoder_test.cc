// Pulsar decoder: protobuf and framing edge cases through the production
// connection path, and DeepFlow's capture.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "pulsar/crc32c.h"
#include "pulsar/pulsar_decoder.h"
#include "pulsar/pulsar_proto.h"
#include "session/replay.h"
#include "support/conversation.h"
#include "support/deepflow_corpus.h"
#include "synth/pulsar_wire.h"

namespace l7::pulsar {
namespace {

namespace w = l7h::synth::pulsarwire;
using l7test::get;
using l7test::Split;
using l7test::Write;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;
const std::string kTopic = "persistent://public/default/orders";
const std::string kTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

std::vector<Record> run(const std::vector<Write>& writes, Split split = Split::kWhole,
                        const l7h::ReplayOptions& options = {}) {
  return l7test::runConversation(pulsarDecoderInfo(), writes, split, 1, options);
}

size_t parseFailures(const std::vector<Record>& records) {
  size_t n = 0;
  for (const Record& r : records) n += r.f.response_status == ResponseStatus::kParseFailed;
  return n;
}

std::vector<Write> handshake(uint32_t client_version = 21, uint32_t server_version = 19) {
  return {{kC2S, w::connect(client_version, "broker-1:6650"), 1}, {kS2C, w::connected(server_version), 2}};
}

std::string plainMetadata(uint64_t seq, const w::Properties& props = {}) { return w::metadata("p-1", seq, 1700000000000, props); }

TEST(PulsarWire, Crc32cMatchesTheBitwiseDefinition) {
  // RFC 3720 B.4: 32 bytes of zeros.
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(asBytes(zeros)), 0x8A9136AAu);
  std::string text;
  for (int i = 0; i < 1000; ++i) text.push_back(static_cast<char>(i * 7 + 3));
  for (size_t n : {0, 1, 7, 8, 9, 63, 1000}) {
    EXPECT_EQ(crc32c(asBytes(std::string_view(text).substr(0, n))), w::crc32c(std::string_view(text).substr(0, n))) << n;
  }
}

TEST(PulsarWire, VarintsOverflowingSixtyFourBitsAreMalformed) {
  auto read = [](const std::string& bytes, uint64_t& v) {
    ByteReader r(asBytes(bytes));
    return pb::readVarint(r, v);
  };
  uint64_t v = 0;
  EXPECT_TRUE(read(w::varint(UINT64_MAX), v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(read(std::string(9, '\xff') + "\x02", v));   // 10th byte carries bit 64
  EXPECT_FALSE(read(std::string(10, '\x80') + "\x01", v));  // 11 bytes
  EXPECT_FALSE(read("\x80\x80", v));                        // cut
  pb::Summary s;
  EXPECT_FALSE(pb::summarize(asBytes(std::string("\x08") + std::string(10, '\xff') + "\x01"), s));
  EXPECT_FALSE(s.error.empty());
  EXPECT_FALSE(pb::summarize(asBytes(std::string("\x0b\x0c")), s)) << "groups are not Pulsar's";
  EXPECT_FALSE(pb::summarize(asBytes(std::string("\x12\x05\x61")), s)) << "length past the end";
  EXPECT_FALSE(pb::summarize(asBytes(std::string("\x00\x01", 2)), s)) << "field number 0";
}

TEST(PulsarDecoder, ProducerSessionMergesWithTheLowerVersionAndTheTopic) {
  auto writes = handshake();
  writes.push_back({kC2S, w::producer(kTopic, 3, 1), 3});
  writes.push_back({kS2C, w::producerSuccess(1, "standalone-0-1"), 4});
  writes.push_back({kC2S, w::send(3, 0, plainMetadata(0, {{"traceparent", kTraceparent}}), "hello"), 5});
  writes.push_back({kS2C, w::sendReceipt(3, 0, 9, 40), 6});
  const auto records = run(writes);
  ASSERT_EQ(records.size(), 3u) << l7test::toJsonLines(records);
  const Record& connect = get(records, "CONNECT");
  EXPECT_EQ(connect.type, RecordType::kSession);
  EXPECT_EQ(connect.f.version, "19");
  EXPECT_EQ(connect.f.request_domain, "broker-1:6650");
  EXPECT_EQ(connect.f.response_status, ResponseStatus::kOk);
  const Record& producer = get(records, "PRODUCER");
  EXPECT_EQ(producer.f.endpoint, kTopic);
  EXPECT_EQ(producer.f.request_resource, "orders");
  EXPECT_EQ(producer.f.request_id, 1);
  EXPECT_EQ(producer.f.response_status, ResponseStatus::kOk) << "DeepFlow leaves merged sessions unknown";
  const Record& send = get(records, "SEND");
  EXPECT_EQ(send.type, RecordType::kSession);
  EXPECT_EQ(send.f.endpoint, kTopic);
  EXPECT_EQ(send.f.version, "19");
  EXPECT_EQ(send.f.request_domain, "broker-1:6650");
  EXPECT_EQ(send.f.request_id, (3 << 16) | 0);
  EXPECT_EQ(send.f.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(send.f.span_id, "b7ad6b7169203331");
  EXPECT_EQ(send.f.x_request_id_1, "9:40:-1:-1");
  EXPECT_GT(send.f.request_length.value_or(0), 0);
  EXPECT_GT(send.f.response_length.value_or(0), 0);
}

// DeepFlow keys SEND by 16 bits of each id: producers 1 and 65537 collide.
// The full (producer_id, sequence_id) pairs each receipt with its send,
// whatever order the receipts come in.
TEST(PulsarDecoder, SendsPairByTheFullProducerAndSequenceIds) {
  auto writes = handshake();
  writes.push_back({kC2S, w::producer(kTopic, 1, 1), 3});
  writes.push_back({kC2S, w::producer(kTopic + "-b", 65537, 2), 3});
  writes.push_back({kS2C, w::producerSuccess(1, "a"), 4});
  writes.push_back({kS2C, w::producerSuccess(2, "b"), 4});
  writes.push_back({kC2S, w::send(1, 70000, plainMetadata(70000), "x"), 10});
  writes.push_back({kC2S, w::send(65537, 70000, plainMetadata(70000), "y"), 11});
  writes.push_back({kS2C, w::sendError(65537, 70000, 14, "slow down"), 20});
  writes.push_back({kS2C, w::sendReceipt(1, 70000, 5, 6), 30});
  const auto records = run(writes);
  EXPECT_EQ(parseFailures(records), 0u);
  const Record& first = get(records, "SEND", 0);
  const Record& second = get(records, "SEND", 1);
  EXPECT_EQ(first.type, RecordType::kSession);
  EXPECT_EQ(first.f.endpoint, kTopic);
  EXPECT_EQ(first.f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(first.end_time_us, 30);
  EXPECT_EQ(second.f.endpoint, kTopic + "-b");
  EXPECT_EQ(second.f.response_status, ResponseStatus::kServerError);
  EXPECT_EQ(second.f.response_code, 14);
  EXPECT_EQ(second.f.response_exception, "slow down");
  EXPECT_EQ(second.end_time_us, 20);
  // The column keeps the table's 16+16 bits.
  EXPECT_EQ(first.f.request_id, (1 << 16) | (70000 & 0xFFFF));
  EXPECT_EQ(second.f.request_id, first.f.request_id);
}

TEST(PulsarDecoder, ErrorsAnswerTheirRequestWithCodeAndMessage) {
  auto writes = handshake();
  writes.push_back({kC2S, w::subscribe(kTopic, "sub", 7, 4), 3});
  writes.push_back({kS2C, w::error(4, 12, ""), 4});
  const auto records = run(writes);
  const Record& sub = get(records, "SUBSCRIBE");
  EXPECT_EQ(sub.type, RecordType::kSession);
  EXPECT_EQ(sub.f.response_status, ResponseStatus::kServerError);
  EXPECT_EQ(sub.f.response_code, 12);
  EXPECT_EQ(sub.f.response_exception, "SubscriptionNotFound") << "an empty message names the enum";
}

TEST(PulsarDecoder, ConsumerCommandsTakeTheTopicOfTheirSubscription) {
  auto writes = handshake();
  writes.push_back({kC2S, w::subscribe(kTopic, "sub", 7, 4), 3});
  writes.push_back({kS2C, w::success(4), 4});
  writes.push_back({kC2S, w::frame(11, w::num(1, 7) + w::num(2, 100)), 5});  // FLOW
  writes.push_back({kS2C, w::message(7, 12, 3, plainMetadata(5), "body", w::num(1, 1700000000001)), 6});
  writes.push_back({kC2S, w::frame(10, w::num(1, 7) + w::num(2, 0) + w::len(3, w::messageId(12, 3))), 7});  // ACK
  const auto records = run(writes);
  EXPECT_EQ(parseFailures(records), 0u) << l7test::toJsonLines(records);
  for (const char* t : {"FLOW", "MESSAGE", "ACK"}) {
    const Record& r = get(records, t);
    EXPECT_EQ(r.type, RecordType::kSession) << t;
    EXPECT_EQ(r.f.endpoint, kTopic) << t;
    EXPECT_EQ(r.f.request_resource, "orders") << t;
  }
  EXPECT_EQ(get(records, "MESSAGE").f.x_request_id_0, "12:3:-1:-1");
  EXPECT_EQ(get(records, "ACK").f.x_request_id_0, "12:3:-1:-1");
}

TEST(PulsarDecoder, BatchEntriesCarryTheTraceIds) {
  auto writes = handshake();
  writes.push_back({kC2S, w::producer(kTopic, 0, 0), 3});
  const std::string batch = w::batchEntry({{"k", "v"}}, "a") +
                            w::batchEntry({{"sw8", "1-YS1iLWM=-c2VnbWVudA==-3-c2Vydmlj-aW5zdA==-L2dldA==-MTI3LjAuMC4xOjgw"}}, "bb") +
                            w::batchEntry({{"traceparent", kTraceparent}}, "ccc");
  writes.push_back({kC2S, w::send(0, 0, w::metadata("p", 0, 1, {}, 3), batch, 3), 4});
  writes.push_back({kS2C, w::sendReceipt(0, 0, 1, 1), 5});
  const auto records = run(writes);
  const Record& send = get(records, "SEND");
  EXPECT_NE(send.f.response_status, ResponseStatus::kParseFailed) << send.f.response_exception;
  EXPECT_EQ(send.f.trace_id, "a-b-c");
  EXPECT_EQ(send.f.trace_id_2, "0af7651916cd43dd8448eb211c80319c");
}

TEST(PulsarDecoder, AWrongChecksumIsReportedAndTheNextFrameDecodes) {
  auto writes = handshake();
  writes.push_back({kC2S, w::producer(kTopic, 0, 0), 3});
  writes.push_back({kC2S, w::send(0, 1, plainMetadata(1), "payload", 1, /*bad_checksum=*/true), 4});
  writes.push_back({kS2C, w::sendError(0, 1, 9, "Checksum failed on the broker"), 5});
  writes.push_back({kC2S, w::ping(), 6});
  writes.push_back({kS2C, w::pong(), 7});
  const auto records = run(writes);
  const Record& send = get(records, "SEND");
  EXPECT_EQ(send.f.response_status, ResponseStatus::kParseFailed);
  EXPECT_NE(send.f.response_exception.find("checksum mismatch"), std::string::npos) << send.f.response_exception;
  EXPECT_EQ(send.type, RecordType::kSession) << "still answered by its SEND_ERROR";
  EXPECT_EQ(send.f.response_code, 9);
  EXPECT_EQ(get(records, "PING").f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(parseFailures(records), 1u);
}

TEST(PulsarDecoder, UnknownFieldsAreSkippedAtEveryLevel) {
  // Unknown fields of every wire type in BaseCommand, in the sub-message
  // and in a KeyValue; and a deeply nested unknown message, skipped as
  // bytes without descending.
  std::string nested = "x";
  for (int i = 0; i < 2000; ++i) {
    std::string outer = w::varint(20 << 3 | 2);
    outer.append(w::varint(nested.size())).append(nested);
    nested.swap(outer);
  }
  const std::string extra = w::num(30, 1) + w::len(31, nested) + std::string("\xf9\x01", 2) + std::string(8, '\1') +
                            std::string("\xfd\x01", 2) + std::string(4, '\2');
  auto writes = handshake();
  writes.push_back({kC2S, w::frame(w::num(1, 5) + extra + w::len(5, w::len(1, kTopic) + extra + w::num(2, 0) + w::num(3, 0))), 3});
  writes.push_back({kS2C, w::producerSuccess(0, "n"), 4});
  std::string meta = plainMetadata(0) + w::len(4, w::len(1, "traceparent") + w::num(9, 1) + w::len(2, kTraceparent)) + extra;
  writes.push_back({kC2S, w::send(0, 0, meta, "x"), 5});
  const auto records = run(writes);
  EXPECT_EQ(parseFailures(records), 0u) << l7test::toJsonLines(records);
  EXPECT_EQ(get(records, "PRODUCER").f.endpoint, kTopic);
  EXPECT_EQ(get(records, "SEND").f.trace_id, "0af7651916cd43dd8448eb211c80319c");
}

TEST(PulsarDecoder, MissingRequiredFieldsFailTheCommandNotTheStream) {
  auto writes = handshake();
  writes.push_back({kC2S, w::frame(5, w::num(2, 0) + w::num(3, 0)), 3});            // PRODUCER without topic
  writes.push_back({kS2C, w::frame(14, w::num(1, 0) + w::num(2, 1)), 4});             // ERROR without message
  writes.push_back({kC2S, w::frame(w::num(1, 6)), 5});                                // SEND without CommandSend
  writes.push_back({kC2S, w::send(0, 2, w::len(1, "p") + w::num(2, 2), "x"), 6});     // metadata without publish_time
  writes.push_back({kC2S, w::send(0, 3, plainMetadata(3, {{"only-key", ""}}).append(w::len(4, w::len(1, "k"))), "x"), 7});
  writes.push_back({kC2S, w::ping(), 8});
  const auto records = run(writes);
  // The ERROR without its message answers the PRODUCER: one record, which
  // keeps the request's failure.
  EXPECT_EQ(parseFailures(records), 4u) << l7test::toJsonLines(records);
  EXPECT_EQ(get(records, "PRODUCER").f.response_exception, "PRODUCER lacks a required field");
  EXPECT_EQ(get(records, "SEND", 0).f.response_exception, "SEND without its sub-message");
  EXPECT_EQ(get(records, "SEND", 1).f.response_exception, "message metadata lacks a required field");
  EXPECT_EQ(get(records, "SEND", 2).f.response_exception, "property without its key or value");
  EXPECT_NE(l7test::byType(records, "PING"), nullptr);
}

TEST(PulsarDecoder, UnknownTypesAreNamedByNumber) {
  auto writes = handshake();
  writes.push_back({kC2S, w::frame(99, w::num(1, 1)), 3});
  writes.push_back({kC2S, w::ping(), 4});
  const auto records = run(writes);
  const Record& unknown = get(records, "TYPE_99");
  EXPECT_EQ(unknown.type, RecordType::kSession);
  EXPECT_EQ(unknown.f.response_status, ResponseStatus::kUnknown);
  EXPECT_EQ(parseFailures(records), 0u);
}

TEST(PulsarDecoder, PingsPairPerInitiatingSide) {
  auto writes = handshake();
  writes.push_back({kS2C, w::ping(), 3});  // the broker's keep-alive
  writes.push_back({kC2S, w::ping(), 4});
  writes.push_back({kC2S, w::pong(), 5});  // answers the broker
  writes.push_back({kS2C, w::pong(), 6});
  const auto records = run(writes);
  ASSERT_EQ(records.size(), 3u) << l7test::toJsonLines(records);
  const Record& from_broker = get(records, "PING", 0);
  const Record& from_client = get(records, "PING", 1);
  EXPECT_EQ(from_broker.end_time_us - from_broker.start_time_us, 2);
  EXPECT_EQ(from_client.end_time_us - from_client.start_time_us, 2);
}

TEST(PulsarDecoder, HostileSizesGiveOneFailureAndResync) {
  auto writes = handshake();
  // totalSize over the 5 MiB cap; commandSize larger than totalSize; a
  // BaseCommand that is not protobuf: each a failure, then frames again
  // (the shared engine confirms a start by two frames in a row).
  writes.push_back({kC2S, w::be32(64u << 20) + w::be32(10) + std::string(20, '\x08'), 3});
  writes.push_back({kC2S, w::ping() + w::producer(kTopic, 1, 1), 4});
  writes.push_back({kC2S, w::be32(6) + w::be32(50) + "\x08\x12", 5});
  writes.push_back({kC2S, w::ping() + w::producer(kTopic, 2, 2), 6});
  writes.push_back({kC2S, w::be32(8) + w::be32(4) + std::string("\x0f\xff\xff\xff"), 7});
  writes.push_back({kC2S, w::ping() + w::producer(kTopic, 3, 3), 8});
  const auto records = run(writes);
  EXPECT_GE(parseFailures(records), 3u) << l7test::toJsonLines(records);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NE(l7test::byType(records, "PING", i), nullptr) << i << l7test::toJsonLines(records);
    EXPECT_EQ(get(records, "PRODUCER", i).f.request_id, static_cast<int64_t>(i + 1));
  }
  bool named_cap = false;
  for (const Record& r : records) named_cap |= r.f.response_exception.find("size cap") != std::string::npos;
  EXPECT_TRUE(named_cap);
}

// A PING whose sizes claim a payload part: only SEND and MESSAGE carry one,
// so the claim is no frame. Taken as one, it would swallow the frames
// inside its 64 KiB; lost framing costs only its own header.
TEST(PulsarDecoder, ACommandThatCarriesNoPayloadClaimingOneLosesOnlyItsHeader) {
  auto writes = handshake();
  const std::string ping = w::ping();  // sizes, then the BaseCommand
  const std::string command = ping.substr(8);
  writes.push_back({kC2S, w::be32(64u << 10) + w::be32(static_cast<uint32_t>(command.size())) + command, 3});
  for (int64_t i = 1; i <= 3; ++i) {
    writes.push_back({kC2S, w::producer(kTopic, static_cast<uint64_t>(i), static_cast<uint64_t>(i)), 3 + i});
  }
  const auto records = run(writes);
  ASSERT_EQ(parseFailures(records), 1u) << l7test::toJsonLines(records);
  bool named = false;
  for (const Record& r : records) named |= r.f.response_exception == "PING with a payload part (only SEND and MESSAGE carry one)";
  EXPECT_TRUE(named) << l7test::toJsonLines(records);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(get(records, "PRODUCER", i).f.request_id, static_cast<int64_t>(i + 1));
}

TEST(PulsarDecoder, TheBrokersMaxMessageSizeSetsTheFrameCap) {
  std::vector<Write> writes = {{kC2S, w::connect(21), 1}, {kS2C, w::connected(21, 1000), 2}};
  writes.push_back({kC2S, w::producer(kTopic, 0, 0), 3});
  writes.push_back({kC2S, w::send(0, 0, plainMetadata(0), std::string(20000, 'a')), 4});  // over 1000 + padding
  writes.push_back({kC2S, w::send(0, 1, plainMetadata(1), std::string(900, 'a')), 5});
  const auto records = run(writes);
  EXPECT_GE(parseFailures(records), 1u);
  EXPECT_EQ(get(records, "SEND").f.request_id, 1) << l7test::toJsonLines(records);
}

TEST(PulsarDecoder, CapsOnPropertiesAndBatchEntriesGiveStatusSix) {
  w::Properties many;
  for (int i = 0; i < 1001; ++i) many.emplace_back(std::to_string(i), "v");
  std::string entries;
  for (int i = 0; i < 20; ++i) entries += w::batchEntry({}, "e");
  auto writes = handshake();
  writes.push_back({kC2S, w::producer(kTopic, 0, 0), 3});
  writes.push_back({kC2S, w::send(0, 0, plainMetadata(0, many), "x"), 4});
  writes.push_back({kC2S, w::send(0, 1, w::metadata("p", 1, 1, {}, 20), entries, 20), 5});
  writes.push_back({kC2S, w::ping(), 6});
  l7h::ReplayOptions options;
  options.limits.max_array_count = 10;
  const auto records = run(writes, Split::kWhole, options);
  EXPECT_NE(get(records, "SEND", 0).f.response_exception.find("properties than the cap"), std::string::npos);
  EXPECT_NE(get(records, "SEND", 1).f.response_exception.find("entries than the cap"), std::string::npos);
  EXPECT_NE(l7test::byType(records, "PING"), nullptr);
  // Under the cap, the same batch decodes.
  const auto fine = run(writes);
  EXPECT_EQ(get(fine, "SEND", 1).f.response_status, ResponseStatus::kUnknown) << get(fine, "SEND", 1).f.response_exception;
}

TEST(PulsarDecoder, AFrameLargerThanTheBufferIsDecodedFromItsPrefix) {
  auto writes = handshake();
  writes.push_back({kC2S, w::producer(kTopic, 0, 0), 3});
  writes.push_back({kC2S, w::send(0, 0, plainMetadata(0, {{"traceparent", kTraceparent}}), std::string(300000, 'z')), 4});
  writes.push_back({kC2S, w::ping(), 5});
  l7h::ReplayOptions options;
  options.limits.max_buffered_bytes = 64u << 10;
  const auto records = run(writes, Split::kWhole, options);
  EXPECT_EQ(parseFailures(records), 0u) << l7test::toJsonLines(records);
  EXPECT_EQ(get(records, "SEND").f.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_GT(get(records, "SEND").captured_request_byte, 300000);
  EXPECT_NE(l7test::byType(records, "PING"), nullptr);
  // The prefix decoded is the buffering cap whatever the segmentation.
  EXPECT_EQ(l7test::toJsonLines(run(writes, Split::kRandom, options)), l7test::toJsonLines(records));
}

TEST(PulsarDecoder, AStreamEndingInsideAFrameIsReported) {
  auto writes = handshake();
  const std::string producer = w::producer(kTopic, 0, 0);
  writes.push_back({kC2S, w::ping() + producer.substr(0, producer.size() - 3), 3});
  const auto records = run(writes);
  EXPECT_NE(l7test::byType(records, "PING"), nullptr);
  ASSERT_EQ(parseFailures(records), 1u) << l7test::toJsonLines(records);
  for (const Record& r : records) {
    if (r.f.response_status == ResponseStatus::kParseFailed) {
      EXPECT_EQ(r.f.response_exception, "stream ended inside a frame");
    }
  }
}

TEST(PulsarDecoder, OutputDoesNotDependOnSegmentation) {
  auto writes = handshake();
  writes.push_back({kC2S, w::producer(kTopic, 0, 0), 3});
  writes.push_back({kS2C, w::producerSuccess(0, "p"), 4});
  writes.push_back({kC2S, w::send(0, 0, plainMetadata(0, {{"traceparent", kTraceparent}}), std::string(500, 'q')), 5});
  writes.push_back({kS2C, w::sendReceipt(0, 0, 1, 2), 6});
  writes.push_back({kS2C, w::ping(), 7});
  writes.push_back({kC2S, w::pong(), 8});
  const std::string whole = l7test::toJsonLines(run(writes));
  EXPECT_EQ(l7test::toJsonLines(run(writes, Split::kOneByte)), whole);
  EXPECT_EQ(l7test::toJsonLines(run(writes, Split::kRandom)), whole);
}

TEST(PulsarProbe, NamesTheSenderOfAWholeFirstCommand) {
  auto probe = [](const std::string& s) { return probePulsar(asBytes(s)); };
  EXPECT_EQ(probe(w::connect(21)), ProbeVerdict::kFromClient);
  EXPECT_EQ(probe(w::connected(21)), ProbeVerdict::kFromServer);
  EXPECT_EQ(probe(w::ping()), ProbeVerdict::kEitherSide);
  EXPECT_EQ(probe(w::connect(21).substr(0, 12)), ProbeVerdict::kNeedMore);
  EXPECT_EQ(probe(w::frame(5, w::num(2, 0))), ProbeVerdict::kNo) << "required fields missing";
  EXPECT_EQ(probe("GET / HTTP/1.1\r\n\r\n"), ProbeVerdict::kNo);
}

// DeepFlow's capture (read from ../shared/corpus/deepflow, never copied):
// no parse failure, and every command its .result lists is a record here
// with the same request id, version, domain and topic, DeepFlow's lines
// being one per message before merging.
TEST(PulsarDeepFlow, AgreesWithTheResultFile) {
  const std::filesystem::path dir = l7test::deepflowCaptures("pulsar");
  if (dir.empty()) GTEST_SKIP();
  std::ifstream in(dir / "pulsar-producer.result");
  ASSERT_TRUE(in);
  l7h::ReplayOptions options;
  options.force_protocol = "pulsar";
  const auto records = l7h::replayCaptureToVector((dir / "pulsar-producer.pcap").string(), options);
  ASSERT_EQ(parseFailures(records), 0u) << l7test::toJsonLines(records);
  struct Line {
    std::string type, topic, domain;
    int64_t request_id = -1;
    int64_t length = -1;
  };
  static const std::map<int, std::string> kNames = {{2, "CONNECT"},  {5, "PRODUCER"},   {6, "SEND"}, {15, "CLOSE_PRODUCER"},
                                                    {21, "PARTITIONED_METADATA"}, {23, "LOOKUP"}};
  std::vector<Line> requests;
  std::string line;
  auto number = [&](const std::string& key) -> int64_t {
    const size_t at = line.rfind("\"" + key + "\":");
    return at == std::string::npos ? -1 : std::stoll(line.substr(at + key.size() + 3));
  };
  auto text = [&](const std::string& key) -> std::string {
    const size_t at = line.rfind("\"" + key + "\":\"");
    if (at == std::string::npos) return "";
    const size_t from = at + key.size() + 4;
    return line.substr(from, line.find('"', from) - from);
  };
  while (std::getline(in, line)) {
    if (line.find("\"msg_type\":\"Request\"") == std::string::npos) continue;
    const size_t t = line.find("\"type\":");
    const int type = std::stoi(line.substr(t + 7));
    line = line.substr(line.find("\"broker_entry_metadata\""));  // the top-level keys only
    ASSERT_TRUE(kNames.count(type)) << line;
    Line l{kNames.at(type), text("topic"), text("domain"), number("request_id"), number("req_len")};
    requests.push_back(l);
  }
  ASSERT_EQ(records.size(), requests.size()) << l7test::toJsonLines(records);
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(r.f.request_type, requests[i].type);
    EXPECT_EQ(r.type, RecordType::kSession) << "every request of the capture is answered";
    EXPECT_EQ(r.f.response_status, ResponseStatus::kOk);
    EXPECT_EQ(r.f.version, "19");
    EXPECT_EQ(r.f.request_domain, requests[i].domain);
    EXPECT_EQ(r.f.request_length, requests[i].length);
    // DeepFlow names only producer and consumer commands' topics; the table
    // gives LOOKUP and PARTITIONED_METADATA theirs too.
    if (!requests[i].topic.empty()) {
      EXPECT_EQ(r.f.request_resource, requests[i].topic);
    }
    if (requests[i].request_id >= 0) {
      EXPECT_EQ(r.f.request_id, requests[i].request_id);
    }
  }
}

}  // namespace
}  // namespace l7::pulsar
