// Kafka decoder: wire edge cases, every decoded API across header/flexible
// versions, trace headers (plain, compressed, legacy), caps and resync,
// segmentation invariance, and the DeepFlow corpus.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "kafka/kafka_api.h"
#include "kafka/kafka_decoder.h"
#include "kafka/kafka_errors.h"
#include "kafka/kafka_records.h"
#include "support/deepflow_corpus.h"
#include "synth/kafka_messages.h"
#include "session/replay.h"
#include "support/conversation.h"

namespace kafkatest = l7h::synth::kafkawire;

namespace l7::kafka {
namespace {

using kafkatest::batch;
using kafkatest::frame;
using kafkatest::record;
using kafkatest::request;
using kafkatest::response;
using kafkatest::W;
using l7test::runConversation;
using l7test::Split;
using l7test::Write;
constexpr Direction kC2S = Direction::kToServer;
constexpr Direction kS2C = Direction::kToClient;

using namespace kafkatest;  // NOLINT: the message builders

// --------------------------------------------------------- direct driver

// One message as the session would see it, with its offset made absolute
// (position in the direction's stream) so any segmentation compares equal.
struct Seen {
  Direction dir;
  MessageKind kind;
  PairKey key;
  uint64_t stream_offset;
  uint32_t wire_size;
  L7Fields fields;
  bool operator==(const Seen&) const = default;
};

void PrintTo(const Seen& s, std::ostream* os) {
  *os << "{dir " << static_cast<int>(s.dir) << " kind " << static_cast<int>(s.kind) << " id " << s.key.id << " @"
      << s.stream_offset << "+" << s.wire_size << " " << s.fields.request_type << " v" << s.fields.version
      << " status " << static_cast<int>(s.fields.response_status) << " '" << s.fields.response_exception << "' "
      << s.fields.request_resource << "}";
}

// The Kafka decoder inside the production connection path (l7h::Connection),
// with every Message it gives the session also kept as a Seen.
thread_local std::vector<Seen>* g_seen = nullptr;
thread_local DecoderLimits g_limits;

class SpyDecoder final : public Decoder {
 public:
  explicit SpyDecoder(const DecoderLimits& limits) : inner_(kafkaDecoderInfo().create(limits)) {}
  FeedResult feed(Direction dir, Bytes tail, uint64_t pos, MessageSink& sink) noexcept override {
    Spy spy(sink);
    const FeedResult r = inner_->feed(dir, tail, pos, spy);
    EXPECT_LE(r.consumed, tail.size());
    EXPECT_LE(r.needed, g_limits.max_buffered_bytes);
    return r;
  }
  void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept override {
    Spy spy(sink);
    inner_->onGap(dir, held, pos, spy);
  }
  void onEof(Direction dir, Bytes tail, uint64_t pos, MessageSink& sink) noexcept override {
    Spy spy(sink);
    inner_->onEof(dir, tail, pos, spy);
  }

 private:
  struct Spy final : MessageSink {
    explicit Spy(MessageSink& inner) : inner(inner) {}
    void onMessage(Direction dir, Message&& m) override {
      g_seen->push_back(Seen{dir, m.kind, m.key, m.pos, m.wire_size, m.fields});
      inner.onMessage(dir, std::move(m));
    }
    std::optional<uint64_t> pendingContext(const PairKey& key) const override { return inner.pendingContext(key); }
    void onCapHit(CapHit hit) override { inner.onCapHit(hit); }
    MessageSink& inner;
  };
  std::unique_ptr<Decoder> inner_;
};

std::unique_ptr<Decoder> createSpy(const DecoderLimits& limits) { return std::make_unique<SpyDecoder>(limits); }

const DecoderInfo& spyInfo() {
  static const DecoderInfo info = [] {
    DecoderInfo i = kafkaDecoderInfo();
    i.create = createSpy;
    return i;
  }();
  return info;
}

// The messages the decoder gives a real connection for `writes` cut per `split`.
std::vector<Seen> drive(const std::vector<Write>& writes, Split split, uint64_t seed = 1,
                        const DecoderLimits& limits = {}) {
  std::vector<Seen> out;
  g_seen = &out;
  g_limits = limits;
  l7h::ReplayOptions options;
  options.limits = limits;
  runConversation(spyInfo(), writes, split, seed, options);
  g_seen = nullptr;
  return out;
}

void expectSegmentationInvariant(const std::vector<Write>& writes, const DecoderLimits& limits = {}) {
  const auto whole = drive(writes, Split::kWhole, 1, limits);
  EXPECT_EQ(drive(writes, Split::kOneByte, 1, limits), whole) << "one byte at a time";
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    EXPECT_EQ(drive(writes, Split::kRandom, seed, limits), whole) << "random split, seed " << seed;
  }
}

const Record* findType(const std::vector<Record>& records, std::string_view type, size_t nth = 0) {
  for (const Record& r : records) {
    if (r.f.request_type == type && nth-- == 0) return &r;
  }
  return nullptr;
}

std::string attr(const Record& r, std::string_view name) {
  for (const auto& a : r.f.attributes) {
    if (a.name == name) return a.value;
  }
  return "<absent>";
}

// ------------------------------------------------------------------ tests

TEST(KafkaTables, ApiNames) {
  EXPECT_EQ(requestTypeName(0), "Produce");
  EXPECT_EQ(requestTypeName(1), "Fetch");
  EXPECT_EQ(requestTypeName(12), "Heartbeat");
  EXPECT_EQ(requestTypeName(18), "ApiVersions");
  EXPECT_EQ(requestTypeName(36), "SaslAuthenticate");
  EXPECT_EQ(requestTypeName(68), "ConsumerGroupHeartbeat");
  EXPECT_EQ(requestTypeName(80), "AddRaftVoter");
  EXPECT_EQ(requestTypeName(92), "DeleteShareGroupOffsets");
  EXPECT_EQ(requestTypeName(93), "93");
  EXPECT_EQ(requestTypeName(-5), "-5");
  for (int16_t key = 0; key <= 92; ++key) EXPECT_FALSE(apiName(key).empty()) << key;
  EXPECT_TRUE(plausibleApiVersion(1, 17));
  EXPECT_FALSE(plausibleApiVersion(1, 40));
  EXPECT_FALSE(plausibleApiVersion(300, 0));
}

TEST(KafkaTables, ErrorDescriptions) {
  EXPECT_EQ(errorDescription(-1), "The server experienced an unexpected error when processing the request.");
  EXPECT_EQ(errorDescription(0), "");
  EXPECT_EQ(errorDescription(3), "This server does not host this topic-partition.");
  EXPECT_EQ(errorName(35), "UNSUPPORTED_VERSION");
  EXPECT_EQ(errorName(119), "INVALID_REGISTRATION");
  EXPECT_EQ(errorName(133), "SHARE_SESSION_LIMIT_REACHED");
  for (int16_t code = 1; code <= 133; ++code) EXPECT_FALSE(errorDescription(code).empty()) << code;
  EXPECT_EQ(errorDescription(134), "");
  EXPECT_EQ(errorDescription(-2), "");
}

TEST(KafkaProduce, EveryVersionMergesRequestAndResponse) {
  for (int16_t v = 0; v <= 13; ++v) {
    SCOPED_TRACE("Produce v" + std::to_string(v));
    const std::string records = v >= 3 ? tracedRecords() : kafkatest::legacyMessageSet("hello");
    const auto out = runConversation(kafkaDecoderInfo(),
                                     {{kC2S, produceRequest(v, 7, "orders", 3, records), 100},
                                      {kS2C, produceResponse(v, 7, "orders", {{3, 0, 120}}), 250}});
    ASSERT_EQ(out.size(), 1u);
    const Record& r = out[0];
    EXPECT_EQ(r.type, RecordType::kSession);
    EXPECT_EQ(r.f.request_type, "Produce");
    EXPECT_EQ(r.f.version, std::to_string(v));
    const std::string topic = v >= 13 ? "10111213-1415-1617-1819-1a1b1c1d1e1f" : "orders";
    EXPECT_EQ(r.f.request_domain, topic);
    EXPECT_EQ(r.f.endpoint, topic + "-3");
    EXPECT_EQ(r.f.request_resource, topic + "-3:120");
    EXPECT_EQ(r.f.request_id, 7);
    EXPECT_EQ(r.f.x_request_id_0, "7");
    EXPECT_EQ(r.f.x_request_id_1, "7");
    EXPECT_EQ(r.f.response_status, ResponseStatus::kOk);
    EXPECT_EQ(r.f.response_code, 0);
    EXPECT_EQ(r.f.response_exception, "");
    EXPECT_EQ(r.f.request_length, static_cast<int64_t>(produceRequest(v, 7, "orders", 3, records).size() - 4));
    EXPECT_EQ(r.f.response_length, static_cast<int64_t>(produceResponse(v, 7, "orders", {{3, 0, 120}}).size() - 4));
    if (v >= 3) {
      // Both trace headers of the FIRST record (null key and value); the
      // second record's traceparent is ignored.
      EXPECT_EQ(r.f.trace_id, kTraceId);
      EXPECT_EQ(r.f.trace_id_2, "3.4.5");
      EXPECT_EQ(r.f.span_id, "00f067aa0ba902b7");
    } else {
      EXPECT_EQ(r.f.trace_id, "");
    }
  }
}

TEST(KafkaProduce, OffsetOfTheRequestsFirstPartitionAndFirstFailure) {
  const auto out = runConversation(kafkaDecoderInfo(),
                                   {{kC2S, produceRequest(7, 1, "t", 2, tracedRecords())},
                                    {kS2C, produceResponse(7, 1, "t", {{5, 0, 9}, {2, 0, 44}, {6, 19, -1}})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].f.request_resource, "t-2:44");
  EXPECT_EQ(out[0].f.endpoint, "t-2");
  EXPECT_EQ(out[0].f.response_code, 19);
  EXPECT_EQ(out[0].f.response_status, ResponseStatus::kServerError);
  // The table's columns name the request's first partition; the exception
  // names the one that failed.
  EXPECT_EQ(out[0].f.response_exception,
            "Messages are rejected since there are fewer in-sync replicas than required. (partition t-6)");
}

TEST(KafkaProduce, AcksZeroIsAnUnansweredRequest) {
  const auto out = runConversation(kafkaDecoderInfo(),
                                   {{kC2S, produceRequest(8, 4, "fire", 0, tracedRecords(), /*acks=*/0)},
                                    {kC2S, apiVersionsRequest(2, 5)},
                                    {kS2C, apiVersionsResponse(2, 5, 0)}});
  ASSERT_EQ(out.size(), 2u);
  const Record* produce = findType(out, "Produce");
  ASSERT_NE(produce, nullptr);
  EXPECT_EQ(produce->type, RecordType::kRequest);
  EXPECT_EQ(produce->f.response_status, ResponseStatus::kUnknown);
  EXPECT_EQ(produce->f.endpoint, "fire-0");
  EXPECT_EQ(produce->f.trace_id, kTraceId);
}

TEST(KafkaProduce, CompressedBatchesYieldTheFirstRecordsHeaders) {
  for (int codec = 1; codec <= 4; ++codec) {
    for (bool xerial : {false, true}) {
      if (xerial && codec != 2) continue;
      SCOPED_TRACE("codec " + std::to_string(codec) + (xerial ? " xerial" : ""));
      const std::string records =
          batch({record(std::nullopt, std::string(3000, 'x'), {{"sw8", kSw8}, {"traceparent", kTraceparent}})},
                codec, xerial);
      const auto out = runConversation(kafkaDecoderInfo(), {{kC2S, produceRequest(9, 2, "z", 0, records)},
                                                            {kS2C, produceResponse(9, 2, "z", {{0, 0, 5}})}});
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].f.trace_id, "3.4.5");
      EXPECT_EQ(out[0].f.trace_id_2, kTraceId);
      EXPECT_EQ(out[0].f.span_id, "1.2.3-4");
      EXPECT_EQ(out[0].f.response_status, ResponseStatus::kOk);
    }
  }
}

TEST(KafkaRecords, DecompressionBombIsCapped) {
  // 64 MiB of zeros, gzip'd to ~64 KiB: the first "record" claims a huge
  // length, so no trace, no error, and at most the cap is ever produced.
  const std::string zeros(64u << 20, '\0');
  const std::string bomb_records = W().sv(60'000'000).str() + zeros;
  std::string payload = kafkatest::compress(1, bomb_records);
  ASSERT_LT(payload.size(), 1u << 20);
  const std::string bomb = kafkatest::batchWithPayload(payload, 1, 1);
  L7Fields f;
  DecoderLimits limits;
  const RecordSetResult res = applyFirstRecordTrace(asBytes(bomb), limits, f);
  EXPECT_EQ(res.kind, RecordSetKind::kDecompressFailed);
  EXPECT_EQ(f.trace_id, "");
  std::string out;
  ASSERT_TRUE(decompressPrefix(1, asBytes(payload), 1000, out));
  EXPECT_EQ(out.size(), 1000u);
  // Corrupt input is refused, not crashed on.
  EXPECT_FALSE(decompressPrefix(4, asBytes(std::string("not zstd at all")), 1000, out));
  EXPECT_FALSE(decompressPrefix(3, asBytes(std::string("not lz4 at all!")), 1000, out));
  EXPECT_FALSE(decompressPrefix(2, asBytes(std::string("\xff\xff\xff\xff\xff\xff", 6)), 1000, out));
}

// A gzip'd batch whose one record holds 2 MiB of zeros before its trace
// header (~2 KB on the wire): the first record never fits the 1 MiB prefix,
// so each one would cost 1 MiB of inflation.
std::string gzipBomb() {
  return batch({record(std::nullopt, std::string(2u << 20, '\0'), {{"traceparent", kTraceparent}})}, 1);
}

TEST(KafkaRecords, DecompressionBudgetBoundsWhatAConnectionInflates) {
  const std::string bomb = gzipBomb();
  DecoderLimits limits;
  DecompressionBudget budget;
  uint64_t compressed = 0;
  for (int i = 0; i < 200; ++i) {
    L7Fields f;
    const RecordSetResult res = applyFirstRecordTrace(asBytes(bomb), limits, f, &budget);
    compressed += bomb.size() - 61;  // the batch header is not compressed
    EXPECT_TRUE(res.kind == RecordSetKind::kDecompressFailed || res.kind == RecordSetKind::kOverBudget);
  }
  // Without the budget: 200 x (4 KiB + 1 MiB). With it: the start, then
  // 64 bytes per compressed byte.
  EXPECT_LE(budget.spent, DecompressionBudget::kStart + DecompressionBudget::kCreditPerByte * compressed);
  EXPECT_LT(budget.spent, 200 * (kMaxDecompressedPrefix / 4));
  EXPECT_GT(budget.hits, 150u);
  // An ordinary batch still gets its trace: it earns more than it costs.
  L7Fields f;
  const std::string traced = batch({record("k", "v", {{"traceparent", kTraceparent}})}, 1);
  EXPECT_EQ(applyFirstRecordTrace(asBytes(traced), limits, f, &budget).kind, RecordSetKind::kBatch);
  EXPECT_EQ(f.trace_id, kTraceId);
}

TEST(KafkaProduce, DecompressionBudgetHitsAreCountedAndEveryRequestIsStillARecord) {
  const std::string bomb = gzipBomb();
  std::vector<Write> writes;
  int64_t ts = 1'000'000;
  int32_t corr = 1;
  for (; corr <= 40; ++corr) writes.push_back({kC2S, produceRequest(3, corr, "t", 0, bomb, /*acks=*/0), ts += 10});
  const std::string traced = batch({record("k", "v", {{"traceparent", kTraceparent}})}, 1);
  writes.push_back({kC2S, produceRequest(3, corr, "t", 0, traced, /*acks=*/0), ts += 10});
  std::vector<Record> records;
  const l7h::ReplayResult result = l7h::replayCaptureBytes(captureOf(writes, 9092, true), {},
                                                           [&](const Record& r) { records.push_back(r); });
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(records.size(), 41u);
  EXPECT_GT(result.stats.decompression_budget_hits, 20u);
  const auto last = std::find_if(records.begin(), records.end(), [&](const Record& r) { return r.f.request_id == corr; });
  ASSERT_NE(last, records.end());
  EXPECT_EQ(last->f.trace_id, kTraceId);
}

TEST(KafkaRecords, LegacyAndOddRecordSets) {
  L7Fields f;
  const DecoderLimits limits;
  EXPECT_EQ(applyFirstRecordTrace(asBytes(kafkatest::legacyMessageSet("v")), limits, f).kind, RecordSetKind::kLegacy);
  EXPECT_EQ(applyFirstRecordTrace({}, limits, f).kind, RecordSetKind::kEmpty);
  std::string bad_magic = tracedRecords();
  bad_magic[16] = 7;
  EXPECT_EQ(applyFirstRecordTrace(asBytes(bad_magic), limits, f).kind, RecordSetKind::kUnreadable);
  // A record set cut inside the first record (a Fetch at max_bytes).
  const std::string cut = tracedRecords().substr(0, 70);
  EXPECT_EQ(applyFirstRecordTrace(asBytes(cut), limits, f).kind, RecordSetKind::kUnreadable);
  EXPECT_EQ(f.trace_id, "");
  // Headers with a null value are skipped without losing the others.
  const std::string nulls = batch({record("k", std::nullopt, {{"x", std::nullopt}, {"traceparent", kTraceparent}})});
  EXPECT_EQ(applyFirstRecordTrace(asBytes(nulls), limits, f).kind, RecordSetKind::kBatch);
  EXPECT_EQ(f.trace_id, kTraceId);
}

TEST(KafkaFetch, EveryVersion) {
  for (int16_t v = 0; v <= 17; ++v) {
    SCOPED_TRACE("Fetch v" + std::to_string(v));
    const std::string records = v >= 4 ? tracedRecords() : kafkatest::legacyMessageSet("m");
    const auto out = runConversation(kafkaDecoderInfo(), {{kC2S, fetchRequest(v, 42, "logs", 1, 36)},
                                                          {kS2C, fetchResponse(v, 42, "logs", 1, 0, 0, records)}});
    ASSERT_EQ(out.size(), 1u);
    const Record& r = out[0];
    const std::string topic = v >= 13 ? "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf" : "logs";
    EXPECT_EQ(r.f.request_type, "Fetch");
    EXPECT_EQ(r.f.version, std::to_string(v));
    EXPECT_EQ(r.f.request_domain, topic);
    EXPECT_EQ(r.f.endpoint, topic + "-1");
    EXPECT_EQ(r.f.request_resource, topic + "-1:36");
    EXPECT_EQ(r.f.response_code, 0);
    EXPECT_EQ(r.f.response_status, ResponseStatus::kOk);
    EXPECT_EQ(r.f.trace_id, v >= 4 ? kTraceId : "");
  }
}

TEST(KafkaFetch, ErrorCodes) {
  // v7+: the top-level code wins; when 0, the first failing partition.
  auto run = [](int16_t v, int16_t top, int16_t part) {
    return runConversation(kafkaDecoderInfo(), {{kC2S, fetchRequest(v, 1, "t", 0, 5)},
                                                {kS2C, fetchResponse(v, 1, "t", 0, top, part, "")}})[0];
  };
  EXPECT_EQ(run(11, 70, 0).f.response_code, 70);
  EXPECT_EQ(run(11, 0, 1).f.response_code, 1);
  EXPECT_EQ(run(11, 0, 1).f.response_exception,
            "The requested offset is not within the range of offsets maintained by the server. (partition t-0)");
  // The top-level code is the whole fetch's: no partition named.
  EXPECT_EQ(run(11, 70, 0).f.response_exception.find("(partition"), std::string::npos);
  EXPECT_EQ(run(3, 0, 6).f.response_code, 6);
  EXPECT_EQ(run(3, 0, 6).f.response_status, ResponseStatus::kServerError);
}

TEST(KafkaGroup, EveryVersionCarriesGroupIdAndErrorCode) {
  struct Case {
    std::string type;
    int16_t max;
    std::string (*req)(int16_t, int32_t, const std::string&);
    std::string (*resp)(int16_t, int32_t, int16_t);
  };
  const Case cases[] = {{"JoinGroup", 9, joinGroupRequest, joinGroupResponse},
                        {"LeaveGroup", 5, leaveGroupRequest, leaveGroupResponse},
                        {"SyncGroup", 5, syncGroupRequest, syncGroupResponse}};
  for (const Case& c : cases) {
    for (int16_t v = 0; v <= c.max; ++v) {
      SCOPED_TRACE(c.type + " v" + std::to_string(v));
      const int16_t error = v % 2 == 0 ? 0 : 25;
      const auto out = runConversation(kafkaDecoderInfo(), {{kC2S, c.req(v, 100 + v, "grp-" + c.type)},
                                                            {kS2C, c.resp(v, 100 + v, error)}});
      ASSERT_EQ(out.size(), 1u);
      const Record& r = out[0];
      EXPECT_EQ(r.f.request_type, c.type);
      EXPECT_EQ(attr(r, "group_id"), "grp-" + c.type);
      EXPECT_EQ(r.f.response_code, error);
      EXPECT_EQ(r.f.response_status, error == 0 ? ResponseStatus::kOk : ResponseStatus::kServerError);
      EXPECT_EQ(r.f.response_exception, error == 0 ? "" : "The coordinator is not aware of this member.");
      EXPECT_EQ(r.f.request_domain, "");
      EXPECT_EQ(r.f.request_resource, "");
    }
  }
}

TEST(KafkaApiVersions, ResponseHeaderStaysV0AndErrorSetsStatusOnly) {
  for (int16_t v = 0; v <= 4; ++v) {
    for (int16_t error : {int16_t{0}, int16_t{35}}) {
      SCOPED_TRACE("ApiVersions v" + std::to_string(v) + " error " + std::to_string(error));
      const auto out = runConversation(kafkaDecoderInfo(),
                                       {{kC2S, apiVersionsRequest(v, 1)}, {kS2C, apiVersionsResponse(v, 1, error)}});
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].f.request_type, "ApiVersions");
      EXPECT_EQ(out[0].f.response_code, std::nullopt);
      EXPECT_EQ(out[0].f.response_status, error == 0 ? ResponseStatus::kOk : ResponseStatus::kServerError);
      EXPECT_EQ(out[0].f.response_exception, error == 0 ? "" : "The version of API is not supported.");
    }
  }
}

TEST(KafkaOtherApis, HeaderOnlyWithUnknownStatus) {
  // Metadata v9 (flexible) and an API key no Kafka defines yet.
  const std::string metadata = request(3, 9, 11, true, W(true).arr(0).i8(0).i8(0).tags().str());
  const std::string future = request(120, 0, 12, false, "opaque body");
  const auto out = runConversation(kafkaDecoderInfo(), {{kC2S, metadata + future},
                                                        {kS2C, response(12, false, "x") + response(11, true, "body")}});
  ASSERT_EQ(out.size(), 2u);
  const Record* m = findType(out, "Metadata");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->type, RecordType::kSession);
  EXPECT_EQ(m->f.version, "9");
  EXPECT_EQ(m->f.response_status, ResponseStatus::kUnknown);
  EXPECT_EQ(m->f.response_code, std::nullopt);
  EXPECT_EQ(m->f.request_id, 11);
  const Record* f = findType(out, "120");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, RecordType::kSession);
  EXPECT_EQ(f->f.response_length, 5);
}

// The error code of an API whose body the table does not use gives the
// status and exception (extension), never response_code: a refused
// Metadata is not shown as unknown, nor as a success.
TEST(KafkaOtherApis, ErrorCodesGiveTheStatusButNoResponseCode) {
  struct Case {
    const char* name;
    int16_t key, version;
    std::string body;
    ResponseStatus status;
    int16_t code;
  };
  const Case cases[] = {
      {"Metadata v1 refused", 3, 1,
       W().arr(1).i32(1).str("broker").i32(9092).nullStr().i32(1).arr(1).i16(3).str("t").i8(0).arr(0).str(),
       ResponseStatus::kServerError, 3},
      {"Metadata v9 (flexible) ok", 3, 9,
       W(true).i32(0).arr(1).i32(1).str("broker").i32(9092).nullStr().tags().nullStr().i32(1).arr(1).i16(0).str(
           "t").str(),
       ResponseStatus::kOk, 0},
      {"OffsetCommit v2 refused", 8, 2, W().arr(1).str("t").arr(1).i32(0).i16(25).str(), ResponseStatus::kServerError,
       25},
      {"FindCoordinator v4 refused", 10, 4,
       W(true).i32(0).arr(1).str("g").i32(-1).str("").i32(-1).i16(15).nullStr().tags().tags().str(),
       ResponseStatus::kServerError, 15},
      {"Heartbeat v0 refused", 12, 0, W().i16(27).str(), ResponseStatus::kServerError, 27},
      {"ListOffsets v1 ok", 2, 1, W().arr(1).str("t").arr(1).i32(0).i16(0).i64(-1).i64(5).str(), ResponseStatus::kOk,
       0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const bool flexible = isFlexible(c.key, c.version);
    const auto out = runConversation(kafkaDecoderInfo(), {{kC2S, request(c.key, c.version, 5, flexible, "")},
                                                          {kS2C, response(5, flexible, c.body)}});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].f.response_status, c.status);
    EXPECT_EQ(out[0].f.response_code, std::nullopt);
    EXPECT_EQ(out[0].f.response_exception, std::string(errorDescription(c.code)));
  }
}

TEST(KafkaPairing, PipelinedRequestsWithOutOfOrderResponses) {
  const std::string reqs = produceRequest(7, 1, "a", 0, tracedRecords()) + fetchRequest(11, 2, "b", 4, 77) +
                           joinGroupRequest(5, 3, "g");
  const std::string resps = joinGroupResponse(5, 3, 0) + produceResponse(7, 1, "a", {{0, 0, 5}}) +
                            fetchResponse(11, 2, "b", 4, 0, 0, "");
  for (Split split : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
    const auto out = runConversation(kafkaDecoderInfo(), {{kC2S, reqs}, {kS2C, resps}}, split, 3);
    ASSERT_EQ(out.size(), 3u);
    for (const Record& r : out) EXPECT_EQ(r.type, RecordType::kSession) << r.f.request_type;
    EXPECT_EQ(findType(out, "Produce")->f.request_resource, "a-0:5");
    EXPECT_EQ(findType(out, "Fetch")->f.request_resource, "b-4:77");
    EXPECT_EQ(attr(*findType(out, "JoinGroup"), "group_id"), "g");
  }
}

TEST(KafkaPairing, LoneResponseWithoutRequest) {
  const auto out = runConversation(kafkaDecoderInfo(), {{kS2C, produceResponse(7, 9, "a", {{0, 0, 1}})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, RecordType::kResponse);
  EXPECT_EQ(out[0].f.request_type, "");
  EXPECT_EQ(out[0].f.x_request_id_1, "9");
  EXPECT_EQ(out[0].f.response_status, ResponseStatus::kUnknown);
}

TEST(KafkaResync, JunkBetweenFramesGivesOneFailureAndRecovers) {
  const std::string junk(300, '\xee');
  const std::vector<Write> writes = {{kC2S, apiVersionsRequest(0, 1) + junk + fetchRequest(4, 2, "t", 0, 9)},
                                     {kS2C, apiVersionsResponse(0, 1, 0) + fetchResponse(4, 2, "t", 0, 0, 0, "")}};
  const auto seen = drive(writes, Split::kWhole);
  size_t failures = 0;
  for (const Seen& s : seen) failures += s.fields.response_status == ResponseStatus::kParseFailed;
  EXPECT_EQ(failures, 1u);
  expectSegmentationInvariant(writes);
  const auto out = runConversation(kafkaDecoderInfo(), writes);
  ASSERT_NE(findType(out, "Fetch"), nullptr);
  EXPECT_EQ(findType(out, "Fetch")->f.request_resource, "t-0:9");
  EXPECT_EQ(findType(out, "Fetch")->type, RecordType::kSession);
}

// One Kafka connection driven by hand (gaps at chosen places).
struct HandDriven : l7test::ScriptedConnection {
  template <typename Script>
  explicit HandDriven(Script script) : ScriptedConnection(kafkaDecoderInfo(), script) {}
};

TEST(KafkaResync, MidStreamJoinFindsTheNextRequest) {
  // The capture starts inside a Produce request and inside its response.
  const std::string first = produceRequest(7, 1, "a", 0, tracedRecords());
  const std::string first_resp = produceResponse(7, 1, "a", {{0, 0, 5}});
  const std::string second = fetchRequest(11, 2, "b", 1, 3);
  const std::string second_resp = fetchResponse(11, 2, "b", 1, 0, 0, "");
  const HandDriven run([&](l7h::Connection& conn) {
    conn.gap(kC2S, 0);
    conn.gap(kS2C, 0);
    const std::string c2s = first.substr(37) + second;
    const std::string s2c = first_resp.substr(9) + second_resp;
    conn.data(kC2S, 0, 1, 10, asBytes(c2s));
    conn.data(kS2C, 0, 1, 20, asBytes(s2c));
  });
  const auto& records = run.records;
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].type, RecordType::kSession);
  EXPECT_EQ(records[0].f.request_resource, "b-1:3");
  EXPECT_EQ(run.counters.parse_failures, 0u);
}

// Bytes lost inside a Produce whose payload holds request headers that
// pass the strict header check: a ControlledShutdown v0 header (no client_id
// to check) and a Metadata header with a printable client_id. The search
// must skip both (the first is refused outright, the second's correlation id
// does not follow the last request's) and find the real next request, so
// that its response pairs with it.
TEST(KafkaResync, DecoyHeadersInsideALostPayloadAreSkipped) {
  W shutdown;
  shutdown.i32(0x200).i16(7).i16(0).i32(5);
  W metadata;
  metadata.i32(0x40000).i16(3).i16(1).i32(999999).str("decoy");
  const std::string value = "xx" + shutdown.str() + "yy" + metadata.str() + std::string(40, 'z');
  const std::string first = apiVersionsRequest(0, 1);
  const std::string produce = produceRequest(7, 2, "a", 0, batch({record("k", value, {})}));
  const std::string fetch = fetchRequest(11, 3, "b", 1, 42);
  const HandDriven run([&](l7h::Connection& conn) {
    conn.data(kC2S, 0, 1, 10, asBytes(first));
    conn.data(kS2C, 0, 1, 20, asBytes(apiVersionsResponse(0, 1, 0)));
    const size_t lost = 30;  // the Produce header and the start of its body
    conn.gap(kC2S, lost);
    const std::string rest = produce.substr(lost) + fetch;
    conn.data(kC2S, first.size() + lost, 1, 30, asBytes(rest));
    const std::string responses = produceResponse(7, 2, "a", {{0, 0, 5}}) + fetchResponse(11, 3, "b", 1, 0, 0, "");
    conn.data(kS2C, 0, 1, 40, asBytes(responses));
  });
  const auto& records = run.records;
  const Record* fetch_record = findType(records, "Fetch");
  ASSERT_NE(fetch_record, nullptr);
  EXPECT_EQ(fetch_record->type, RecordType::kSession);
  EXPECT_EQ(fetch_record->f.request_resource, "b-1:42");
  EXPECT_EQ(findType(records, "ControlledShutdown"), nullptr);
  EXPECT_EQ(findType(records, "Metadata"), nullptr);
  EXPECT_EQ(run.counters.parse_failures, 0u);
}

// After lost request bytes, a false header whose client_id claims more
// bytes than have come is refused on the bytes that did come (binary, not
// a name), so the real request behind it is decoded at once, not when 482
// more bytes have arrived.
TEST(KafkaResync, AFalseHeaderIsJudgedOnTheClientIdBytesThatCame) {
  W decoy;
  decoy.i32(0x200).i16(3).i16(1).i32(2).i16(482).i8(0x61).i8(0x01).i8(0x02).i8(0x03);
  const std::string fetch = fetchRequest(4, 3, "b", 1, 42);
  const HandDriven run([&](l7h::Connection& conn) {
    conn.data(kC2S, 0, 1, 10, asBytes(apiVersionsRequest(0, 1)));
    conn.gap(kC2S, 100);
    conn.data(kC2S, 1000, 1, 20, asBytes(decoy.str() + fetch));
    EXPECT_EQ(conn.pendingRequests(), 2u);  // ApiVersions and the Fetch, not held
  });
  EXPECT_EQ(run.counters.parse_failures, 0u);
  EXPECT_NE(findType(run.records, "Fetch"), nullptr);
  EXPECT_EQ(findType(run.records, "Metadata"), nullptr);
}

// A false header inside a lost payload whose body parses as far as it goes
// (a Produce whose record set is "still coming") is undecided; the whole
// Fetch behind it is taken, before the Fetch's response is decoded (the
// response side asks for the request side to be looked at first), so the
// response decodes as a Fetch's, with its error code.
TEST(KafkaResync, AWholeRequestBehindAnUndecidedCandidateIsTakenBeforeItsResponse) {
  W body;
  body.nullStr().i16(1).i32(30000).arr(1).str("t").arr(1).i32(0).i32(1000);
  const std::string decoy = request(0, 3, 2, false, body.str() + std::string(1000, 'r')).substr(0, 40);
  const std::string fetch = fetchRequest(4, 3, "b", 1, 42);
  const HandDriven run([&](l7h::Connection& conn) {
    conn.data(kC2S, 0, 1, 10, asBytes(apiVersionsRequest(0, 1)));
    conn.data(kS2C, 0, 1, 15, asBytes(apiVersionsResponse(0, 1, 0)));
    conn.gap(kC2S, 100);
    // Apart, so that the Fetch arrives while the decoy waits for more bytes
    // than the Fetch brings: the session feeds the request side again only
    // because the response asks for it (FeedResult::wake_peer).
    conn.data(kC2S, 1000, 1, 20, asBytes(decoy));
    conn.data(kC2S, 1000 + decoy.size(), 1, 25, asBytes(fetch));
    conn.data(kS2C, 100, 1, 30, asBytes(fetchResponse(4, 3, "b", 1, 0, 0, "")));
    EXPECT_EQ(conn.bufferedBytes(), 0u) << "decoded when the response came, not at the end";
  });
  const Record* f = findType(run.records, "Fetch");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, RecordType::kSession);
  EXPECT_EQ(f->f.request_resource, "b-1:42");
  EXPECT_EQ(f->f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(findType(run.records, "Produce"), nullptr);
  EXPECT_EQ(run.counters.parse_failures, 0u);
}

// A false header declaring a frame too large to wait for (50 MiB) is not
// believed on its header: the first window of its body must parse as its
// beginning. Taken on its header, it swallowed the real requests behind it.
TEST(KafkaResync, AHugeFalseHeaderMustParseAsItsBeginning) {
  W decoy;
  decoy.i32(50 << 20).i16(0).i16(3).i32(2).str("x").i16(-5).i16(1).i32(30000);
  const std::string fetch = fetchRequest(4, 3, "b", 1, 42);
  const HandDriven run([&](l7h::Connection& conn) {
    conn.data(kC2S, 0, 1, 10, asBytes(apiVersionsRequest(0, 1)));
    conn.data(kS2C, 0, 1, 15, asBytes(apiVersionsResponse(0, 1, 0)));
    conn.gap(kC2S, 100);
    conn.data(kC2S, 1000, 1, 20, asBytes(decoy.str() + fetch));
    conn.data(kS2C, 100, 1, 30, asBytes(fetchResponse(4, 3, "b", 1, 0, 0, "")));
  });
  const Record* f = findType(run.records, "Fetch");
  ASSERT_NE(f, nullptr) << l7test::toJsonLines(run.records);
  EXPECT_EQ(f->type, RecordType::kSession);
  EXPECT_EQ(f->f.request_resource, "b-1:42");
  EXPECT_EQ(findType(run.records, "Produce"), nullptr);
  EXPECT_EQ(run.counters.skipped_bytes, 0u);
}

// The response side's own resynchronization (passing over the rest of an
// answer lost at the join) does not forget the request side's undecided
// candidate: the Fetch response still asks for the request side first.
TEST(KafkaResync, ResponsesSkippingBytesKeepTheRequestSidesCandidate) {
  W body;
  body.nullStr().i16(1).i32(30000).arr(1).str("t").arr(1).i32(0).i32(1000);
  const std::string decoy = request(0, 3, 2, false, body.str() + std::string(1000, 'r')).substr(0, 40);
  const std::string fetch = fetchRequest(4, 3, "b", 1, 42);
  const std::string lost_answer_rest(10, 'z');
  const HandDriven run([&](l7h::Connection& conn) {
    conn.gap(kC2S, 0);
    conn.gap(kS2C, 0);
    conn.data(kC2S, 0, 1, 10, asBytes(decoy));
    conn.data(kS2C, 0, 1, 15, asBytes(lost_answer_rest));
    conn.data(kC2S, decoy.size(), 1, 20, asBytes(fetch));
    conn.data(kS2C, lost_answer_rest.size(), 1, 30, asBytes(fetchResponse(4, 3, "b", 1, 0, 0, "")));
    EXPECT_EQ(conn.bufferedBytes(), 0u) << "decoded when the response came, not at the end";
  });
  const Record* f = findType(run.records, "Fetch");
  ASSERT_NE(f, nullptr) << l7test::toJsonLines(run.records);
  EXPECT_EQ(f->type, RecordType::kSession);
  EXPECT_EQ(f->f.response_status, ResponseStatus::kOk);
}

// Resynchronizing responses: eight bytes inside an earlier answer that look
// like a header for the awaited correlation id (a plausible size, then 256)
// are not taken when the body behind them does not decode as that API's
// response; the real answer is.
TEST(KafkaResync, AResponseCandidateMustDecodeWithTheAwaitedApi) {
  W fake;
  fake.i32(0x40).i32(256).i32(-7).i32(0x7fffffff);
  const std::string lost_answer_rest = "zz" + fake.str() + std::string(70, 'q');
  const HandDriven run([&](l7h::Connection& conn) {
    conn.gap(kC2S, 0);
    conn.gap(kS2C, 0);
    conn.data(kC2S, 0, 1, 10, asBytes(fetchRequest(4, 256, "b", 1, 42)));
    conn.data(kS2C, 0, 1, 20, asBytes(lost_answer_rest + fetchResponse(4, 256, "b", 1, 0, 0, "")));
  });
  ASSERT_EQ(run.records.size(), 1u);
  EXPECT_EQ(run.records[0].type, RecordType::kSession);
  EXPECT_EQ(run.records[0].f.response_status, ResponseStatus::kOk);
  EXPECT_EQ(run.counters.parse_failures, 0u);
}

// An API decoded from its header only has no body to check: its candidate
// must be followed by a plausible frame size (or the end of the stream, or
// a gap). A candidate followed by an impossible size is refused.
TEST(KafkaResync, AHeaderOnlyResponseCandidateNeedsTheNextFrame) {
  W fake;
  fake.i32(16).i32(5).i32(1).i32(2).i32(3).i32(-1);  // 20 bytes, then 0xffffffff
  const std::string metadata = request(3, 1, 5, false, W().arr(0).str());
  const std::string answer = response(5, false, std::string(30, 'm'));
  for (const bool gap_after : {false, true}) {
    SCOPED_TRACE(gap_after ? "a gap follows" : "the stream ends");
    const HandDriven run([&](l7h::Connection& conn) {
      conn.gap(kC2S, 0);
      conn.gap(kS2C, 0);
      conn.data(kC2S, 0, 1, 10, asBytes(metadata));
      conn.data(kS2C, 0, 1, 20, asBytes(fake.str() + answer));
      if (gap_after) conn.gap(kS2C, 50);
    });
    ASSERT_EQ(run.records.size(), 1u);
    EXPECT_EQ(run.records[0].type, RecordType::kSession);
    EXPECT_EQ(run.records[0].f.response_length, static_cast<int64_t>(answer.size() - 4));
  }
}

// Joined at a broker's Produce v0 response with correlation id 7: its bytes
// read as a request header "Produce v7, correlation id 1, client_id <topic>",
// but the broker is on Kafka's port, so it stays the server, and the
// client's next request pairs with its answer.
TEST(KafkaProbe, JoinedAtAResponseOnTheKafkaPortKeepsTheRoles) {
  const std::string lost_answer = produceResponse(0, 7, "orders", {{0, 0, 5}});
  const auto records = l7test::replayMidStream({{kS2C, lost_answer, 10},
                                                {kC2S, fetchRequest(4, 8, "b", 1, 42), 20},
                                                {kS2C, fetchResponse(4, 8, "b", 1, 0, 0, ""), 30}},
                                               9092);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].type, RecordType::kSession);
  EXPECT_EQ(records[0].server_port, 9092);
  EXPECT_EQ(records[0].f.request_resource, "b-1:42");
}

TEST(KafkaCaps, DeclaredSizeOverCapIsReportedAndSkipped) {
  DecoderLimits limits;
  limits.max_message_bytes = 1000;
  const std::string big = produceRequest(7, 1, "a", 0, batch({record("k", std::string(2000, 'v'), {})}));
  const std::vector<Write> writes = {{kC2S, big + apiVersionsRequest(1, 2)}, {kS2C, apiVersionsResponse(1, 2, 0)}};
  const auto seen = drive(writes, Split::kWhole, 1, limits);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].fields.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(seen[0].fields.request_type, "Produce");
  EXPECT_EQ(seen[0].fields.response_exception, "message size over the configured cap");
  EXPECT_EQ(seen[0].wire_size, big.size());
  EXPECT_EQ(seen[1].fields.request_type, "ApiVersions");
  EXPECT_EQ(seen[1].stream_offset, big.size());
  expectSegmentationInvariant(writes, limits);
}

TEST(KafkaCaps, FrameLargerThanTheBufferIsDecodedFromItsPrefix) {
  DecoderLimits limits;
  limits.max_buffered_bytes = 4096;
  const std::string big =
      produceRequest(7, 1, "big-topic", 2, batch({record("k", std::string(20000, 'v'), {{"traceparent", kTraceparent}})}));
  const std::vector<Write> writes = {{kC2S, big + apiVersionsRequest(1, 2)},
                                     {kS2C, produceResponse(7, 1, "big-topic", {{2, 0, 8}}) + apiVersionsResponse(1, 2, 0)}};
  const auto seen = drive(writes, Split::kWhole, 1, limits);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].fields.request_type, "Produce");
  EXPECT_EQ(seen[0].fields.response_status, ResponseStatus::kUnknown);
  EXPECT_EQ(seen[0].fields.endpoint, "big-topic-2");
  // The headers follow the 20000-byte value, past the buffered prefix.
  EXPECT_EQ(seen[0].fields.trace_id, "");
  EXPECT_EQ(seen[0].wire_size, big.size());
  expectSegmentationInvariant(writes, limits);
}

TEST(KafkaCaps, ArrayCountOverCapIsAParseFailure) {
  DecoderLimits limits;
  limits.max_array_count = 10;
  W b;
  b.nullStr().i16(1).i32(1000).arr(11);
  const std::string bad = request(api::kProduce, 7, 1, false, b.str() + std::string(200, '\0'));
  const std::vector<Write> writes = {{kC2S, bad + apiVersionsRequest(1, 2)}, {kS2C, apiVersionsResponse(1, 2, 0)}};
  const auto seen = drive(writes, Split::kWhole, 1, limits);
  ASSERT_EQ(seen.size(), 3u);
  // Still a request: its header decoded, so its answer can pair with it.
  EXPECT_EQ(seen[0].kind, MessageKind::kRequest);
  EXPECT_EQ(seen[0].key.id, 1u);
  EXPECT_EQ(seen[0].fields.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(seen[0].fields.response_exception, "Produce request: element count over the cap");
  EXPECT_EQ(seen[1].fields.request_type, "ApiVersions");
}

// A record that declares `count` headers but carries none of them.
std::string recordClaimingHeaders(int64_t count) {
  W body;
  body.i8(0).sv(0).sv(0).sv(-1).sv(-1).sv(count);
  return W().sv(static_cast<int64_t>(body.str().size())).str() + body.str();
}

std::vector<Header> headers(size_t n) {
  std::vector<Header> out;
  out.emplace_back("traceparent", kTraceparent);
  while (out.size() < n) {
    std::string name = "h";  // appended, not "h" + ...: GCC 12 -O3 warns falsely (-Wrestrict) on that
    name += std::to_string(out.size());
    out.emplace_back(name, "v");
  }
  return out;
}

TEST(KafkaCaps, RecordHeaderCountAtTheCapIsReadAndOverItIsStatus6) {
  DecoderLimits limits;
  limits.max_array_count = 4;
  L7Fields f;
  EXPECT_EQ(applyFirstRecordTrace(asBytes(batch({record("k", "v", headers(4))})), limits, f).kind,
            RecordSetKind::kBatch);
  EXPECT_EQ(f.trace_id, kTraceId);
  for (int codec = 0; codec <= 4; ++codec) {
    SCOPED_TRACE("codec " + std::to_string(codec));
    L7Fields g;
    EXPECT_EQ(applyFirstRecordTrace(asBytes(batch({record("k", "v", headers(5))}, codec)), limits, g).kind,
              RecordSetKind::kOverCap);
    EXPECT_EQ(g.trace_id, "");  // nothing applied from a record over the cap
  }
  // Through the decoder: the Produce is a status-6 request, its response
  // completes it, and the next exchange decodes normally.
  const std::string bad = produceRequest(7, 1, "t", 0, batch({record("k", "v", headers(5))}));
  const std::vector<Write> writes = {
      {kC2S, bad + apiVersionsRequest(1, 2)},
      {kS2C, produceResponse(7, 1, "t", {{0, 0, 5}}) + apiVersionsResponse(1, 2, 0)}};
  const auto seen = drive(writes, Split::kWhole, 1, limits);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].kind, MessageKind::kRequest);
  EXPECT_EQ(seen[0].fields.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(seen[0].fields.response_exception, "Produce request: element count over the cap");
  expectSegmentationInvariant(writes, limits);
}

TEST(KafkaCaps, HostileRecordHeaderCountFailsProduceAndFetch) {
  // Default limits: a first record claiming a million headers in 6 bytes.
  const std::string hostile = batch({recordClaimingHeaders(1'000'000)});
  const auto produce = runConversation(kafkaDecoderInfo(), {{kC2S, produceRequest(9, 3, "t", 1, hostile), 10},
                                                            {kS2C, produceResponse(9, 3, "t", {{1, 2, -1}}), 20},
                                                            {kC2S, fetchRequest(11, 4, "t", 1, 0), 30},
                                                            {kS2C, fetchResponse(11, 4, "t", 1, 0, 0, hostile), 40}});
  ASSERT_EQ(produce.size(), 2u);
  const Record* p = findType(produce, "Produce");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->type, RecordType::kSession);
  EXPECT_EQ(p->f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(p->f.response_exception, "Produce request: element count over the cap");
  EXPECT_EQ(p->f.response_code, 2);  // the broker's answer (CORRUPT_MESSAGE) is kept
  EXPECT_EQ(p->f.x_request_id_1, "3");
  EXPECT_EQ(p->end_time_us, 20);
  const Record* fetch = findType(produce, "Fetch");
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->type, RecordType::kSession);
  EXPECT_EQ(fetch->f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(fetch->f.response_exception, "Fetch response: element count over the cap");
  EXPECT_EQ(fetch->f.request_resource, "t-1:0");
}

TEST(KafkaPairing, MalformedRequestPairsWithItsResponse) {
  // Produce v3 whose topic length runs past the frame, then its answer.
  W b;
  b.nullStr().i16(1).i32(1000).arr(1).i16(500);
  const std::string bad = request(api::kProduce, 3, 6, false, b.str());
  for (Split split : {Split::kWhole, Split::kOneByte, Split::kRandom}) {
    const auto out = runConversation(kafkaDecoderInfo(),
                                     {{kC2S, bad + apiVersionsRequest(1, 7), 10},
                                      {kS2C, produceResponse(3, 6, "t", {{0, 0, 5}}) + apiVersionsResponse(1, 7, 0), 20}},
                                     split, 5);
    ASSERT_EQ(out.size(), 2u);  // not a status-6 record plus a lone response
    const Record* p = findType(out, "Produce");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->type, RecordType::kSession);
    EXPECT_EQ(p->f.response_status, ResponseStatus::kParseFailed);
    EXPECT_EQ(p->f.response_exception, "Produce request: message ends inside a field");
    EXPECT_EQ(p->f.request_id, 6);
    EXPECT_EQ(p->f.x_request_id_1, "6");
    EXPECT_EQ(p->f.response_length, static_cast<int64_t>(produceResponse(3, 6, "t", {{0, 0, 5}}).size() - 4));
    EXPECT_EQ(findType(out, "ApiVersions")->type, RecordType::kSession);
  }
  // Unanswered, it stays a status-6 record of its own (type 0).
  const auto lone = runConversation(kafkaDecoderInfo(), {{kC2S, bad}});
  ASSERT_EQ(lone.size(), 1u);
  EXPECT_EQ(lone[0].type, RecordType::kRequest);
  EXPECT_EQ(lone[0].f.response_status, ResponseStatus::kParseFailed);
  // Without decoder state the answer cannot carry the failure on: one-way.
  l7h::ReplayOptions stateless;
  stateless.limits.max_pending = 0;
  const auto no_state = runConversation(
      kafkaDecoderInfo(), {{kC2S, bad, 10}, {kS2C, produceResponse(3, 6, "t", {{0, 0, 5}}), 20}}, Split::kWhole, 1,
      stateless);
  ASSERT_EQ(no_state.size(), 2u);
  EXPECT_EQ(no_state[0].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(no_state[0].type, RecordType::kSession);
  EXPECT_EQ(no_state[1].type, RecordType::kResponse);
  // acks=0 was read before the body failed: nothing will answer, one-way.
  W z;
  z.nullStr().i16(0).i32(1000).arr(1).i16(500);
  const auto fire = runConversation(kafkaDecoderInfo(), {{kC2S, request(api::kProduce, 3, 8, false, z.str())}});
  ASSERT_EQ(fire.size(), 1u);
  EXPECT_EQ(fire[0].type, RecordType::kSession);
  EXPECT_EQ(fire[0].f.response_status, ResponseStatus::kParseFailed);
}

TEST(KafkaPairing, MalformedOversizedOrCutResponseCompletesItsRequest) {
  // A Produce response with trailing garbage.
  const std::string resp = produceResponse(7, 1, "t", {{0, 0, 5}});
  W trailing;
  trailing.i32(1);
  const std::string garbage = frame(resp.substr(4) + trailing.str());
  auto one = runConversation(kafkaDecoderInfo(), {{kC2S, produceRequest(7, 1, "t", 0, tracedRecords()), 10},
                                                  {kS2C, garbage, 20}});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].type, RecordType::kSession);
  EXPECT_EQ(one[0].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(one[0].f.response_exception, "Produce response: impossible length or count");
  EXPECT_EQ(one[0].f.trace_id, kTraceId);  // the request's fields stay
  // A response over max_message_bytes.
  l7h::ReplayOptions options;
  options.limits.max_message_bytes = 100;  // the requests fit, the large frames do not
  const std::string big = fetchResponse(4, 2, "t", 0, 0, 0, std::string(200, 'r'));
  auto two = runConversation(kafkaDecoderInfo(), {{kC2S, fetchRequest(4, 2, "t", 0, 9), 10}, {kS2C, big, 20}},
                             Split::kRandom, 2, options);
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(two[0].type, RecordType::kSession);
  EXPECT_EQ(two[0].f.response_exception, "message size over the configured cap");
  EXPECT_EQ(two[0].f.request_resource, "t-0:9");
  // A response cut by the end of the capture.
  auto three = runConversation(kafkaDecoderInfo(), {{kC2S, fetchRequest(4, 2, "t", 0, 9), 10},
                                                    {kS2C, fetchResponse(4, 2, "t", 0, 0, 0, "").substr(0, 12), 20}});
  ASSERT_EQ(three.size(), 1u);
  EXPECT_EQ(three[0].type, RecordType::kSession);
  EXPECT_EQ(three[0].f.response_exception, "stream ends inside a message");
  // A request over max_message_bytes still pairs with its answer.
  const std::string big_req = produceRequest(7, 5, "a", 0, batch({record("k", std::string(200, 'v'), {})}));
  auto four = runConversation(kafkaDecoderInfo(),
                              {{kC2S, big_req, 10}, {kS2C, produceResponse(7, 5, "a", {{0, 10, -1}}), 20}},
                              Split::kWhole, 1, options);
  ASSERT_EQ(four.size(), 1u);
  EXPECT_EQ(four[0].type, RecordType::kSession);
  EXPECT_EQ(four[0].f.request_type, "Produce");
  EXPECT_EQ(four[0].f.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(four[0].f.response_exception, "message size over the configured cap");
}

TEST(KafkaCaps, MalformedBodyAndTruncatedStream) {
  // A Produce v3 body with a topic length past the frame.
  W b;
  b.nullStr().i16(1).i32(1000).arr(1).i16(500);
  const std::string bad = request(api::kProduce, 3, 1, false, b.str());
  const std::string cut = fetchRequest(4, 2, "t", 0, 0).substr(0, 20);
  const auto seen = drive({{kC2S, bad + cut}}, Split::kWhole);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].fields.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(seen[0].fields.response_exception, "Produce request: message ends inside a field");
  EXPECT_EQ(seen[1].fields.response_status, ResponseStatus::kParseFailed);
  EXPECT_EQ(seen[1].fields.response_exception, "stream ends inside a message");
  EXPECT_EQ(seen[1].fields.request_type, "Fetch");
  // Trailing bytes after a complete body are malformed too.
  const std::string trailing = request(api::kApiVersions, 1, 3, false, "xx");
  const auto t = drive({{kC2S, trailing}}, Split::kWhole);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].fields.response_exception, "ApiVersions request: impossible length or count");
}

TEST(KafkaProbe, StrictRequestHeaders) {
  EXPECT_EQ(probeKafka(asBytes(apiVersionsRequest(3, 1))), ProbeVerdict::kFromClient);
  EXPECT_EQ(probeKafka(asBytes(produceRequest(9, 1, "t", 0, ""))), ProbeVerdict::kFromClient);
  EXPECT_EQ(probeKafka(asBytes(apiVersionsRequest(3, 1).substr(0, 13))), ProbeVerdict::kNeedMore);
  EXPECT_EQ(probeKafka(asBytes(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))), ProbeVerdict::kNo);
  EXPECT_EQ(probeKafka(asBytes(std::string("INFO {\"server_id\":\"x\"}\r\n"))), ProbeVerdict::kNo);
  EXPECT_EQ(probeKafka(asBytes(request(300, 0, 1, false, ""))), ProbeVerdict::kNo);     // unknown key
  EXPECT_EQ(probeKafka(asBytes(request(1, 60, 1, false, ""))), ProbeVerdict::kNo);      // version out of range
  EXPECT_EQ(probeKafka(asBytes(request(1, 4, -3, false, ""))), ProbeVerdict::kNo);      // negative correlation id
  EXPECT_EQ(probeKafka(asBytes(request(18, 0, 1, false, "", "bad\x01id"))), ProbeVerdict::kNo);
  EXPECT_EQ(probeKafka(asBytes(request(18, 0, 1, false, "", " x"))), ProbeVerdict::kNo);  // not a name
  EXPECT_EQ(probeKafka(asBytes(request(18, 0, 1, false, "", ""))), ProbeVerdict::kNo);    // empty client_id
  EXPECT_EQ(probeKafka(asBytes(response(1, false, "abcdefgh"))), ProbeVerdict::kNo);
}

TEST(KafkaSegmentation, LongConversationIsSplitInvariant) {
  const std::vector<Write> writes = {
      {kC2S, apiVersionsRequest(3, 0) + apiVersionsRequest(0, 1)},
      {kS2C, apiVersionsResponse(3, 0, 35) + apiVersionsResponse(0, 1, 0)},
      {kC2S, produceRequest(9, 2, "p", 1, tracedRecords(4)) + fetchRequest(13, 3, "", 0, 10)},
      {kS2C, fetchResponse(13, 3, "", 0, 0, 0, tracedRecords(1)) + produceResponse(9, 2, "p", {{1, 0, 3}})},
      {kC2S, joinGroupRequest(7, 4, "g") + syncGroupRequest(5, 5, "g") + leaveGroupRequest(5, 6, "g")},
      {kS2C, joinGroupResponse(7, 4, 79) + syncGroupResponse(5, 5, 0) + leaveGroupResponse(5, 6, 0)},
  };
  expectSegmentationInvariant(writes);
  const auto seen = drive(writes, Split::kWhole);
  EXPECT_EQ(seen.size(), 14u);
  for (const Seen& s : seen) EXPECT_NE(s.fields.response_status, ResponseStatus::kParseFailed) << s.fields.request_type;
}

RC_GTEST_PROP(KafkaProperties, ArbitraryBytesNeverBreakTheContract, ()) {
  const auto c2s = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  const auto s2c = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  // Half the time, splice a real request in so decoding goes deep.
  const bool splice = *rc::gen::arbitrary<bool>();
  const std::string real = produceRequest(9, 1, "t", 0, tracedRecords(*rc::gen::inRange(0, 5)));
  const std::string mutated = [&] {
    std::string s = real;
    const size_t at = *rc::gen::inRange<size_t>(0, s.size());
    if (at < s.size()) s[at] = *rc::gen::arbitrary<char>();
    return s;
  }();
  const std::vector<Write> writes = {{kC2S, splice ? mutated + c2s : c2s}, {kS2C, s2c}};
  const auto whole = drive(writes, Split::kWhole);
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1000);
  RC_ASSERT(drive(writes, Split::kRandom, seed) == whole);
}

RC_GTEST_PROP(KafkaProperties, ProduceFieldsRoundTrip, ()) {
  const int16_t v = *rc::gen::inRange<int16_t>(0, 13);
  const std::string topic = *rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange('a', 'z')));
  const int32_t partition = *rc::gen::inRange(0, 1000);
  const int64_t offset = *rc::gen::inRange<int64_t>(0, int64_t{1} << 40);
  const int32_t corr = *rc::gen::inRange(0, 1 << 30);
  const auto out = runConversation(kafkaDecoderInfo(), {{kC2S, produceRequest(v, corr, topic, partition, "")},
                                                        {kS2C, produceResponse(v, corr, topic, {{partition, 0, offset}})}});
  RC_ASSERT(out.size() == 1u);
  const std::string shown = v >= 13 ? "10111213-1415-1617-1819-1a1b1c1d1e1f" : topic;
  RC_ASSERT(out[0].f.request_resource == shown + "-" + std::to_string(partition) + ":" + std::to_string(offset));
  RC_ASSERT(out[0].f.request_id == corr);
}

// The `name: value` pairs of a Rust Debug line (KafkaInfo { a: 1, b: "x",
// c: Some(2), d: None, ... }), first occurrence of each name; Some(...)
// and quotes are stripped.
std::map<std::string, std::string> debugFields(const std::string& line) {
  std::map<std::string, std::string> kv;
  size_t pos = 0;
  while ((pos = line.find(": ", pos)) != std::string::npos) {
    size_t name_begin = pos;
    while (name_begin > 0 && (std::isalnum(static_cast<unsigned char>(line[name_begin - 1])) || line[name_begin - 1] == '_')) {
      --name_begin;
    }
    const std::string name = line.substr(name_begin, pos - name_begin);
    size_t v = pos + 2;
    if (line.compare(v, 5, "Some(") == 0) v += 5;
    std::string value;
    if (v < line.size() && line[v] == '"') {
      const size_t close = line.find('"', v + 1);
      value = line.substr(v + 1, close == std::string::npos ? std::string::npos : close - v - 1);
    } else {
      const size_t end = line.find_first_of(",) }", v);
      value = line.substr(v, end == std::string::npos ? std::string::npos : end - v);
    }
    if (!name.empty()) kv.emplace(name, value);
    pos = v;
  }
  return kv;
}

// DeepFlow's captures decode without parse failures, and topic, partition,
// offset, correlation id, api key/version and error code agree with its
// .result lines where both define them. DeepFlow takes partition/offset
// from the LAST partition and does not keep the Produce request's partition
// (see spec/l7_flow_log.md); every capture here has one partition, so the
// values coincide.
TEST(KafkaDeepFlow, AgreesWithResultFiles) {
  const std::filesystem::path dir = l7test::deepflowCaptures("kafka");
  if (dir.empty()) GTEST_SKIP();
  size_t compared = 0, captures = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".pcap") continue;
    ++captures;
    l7h::ReplayOptions options;
    l7h::ReplayResult rr;
    const auto records = l7h::replayCaptureToVector(entry.path().string(), options, &rr);
    ASSERT_TRUE(rr.ok) << rr.error;
    EXPECT_EQ(rr.stats.parse_failures, 0u) << entry.path();
    for (const Record& r : records) {
      EXPECT_EQ(r.l7_protocol, L7Protocol::kKafka) << entry.path();
      EXPECT_NE(r.f.response_status, ResponseStatus::kParseFailed) << entry.path();
    }
    auto result_path = entry.path();
    result_path.replace_extension(".result");
    std::ifstream in(result_path);
    if (!in) continue;  // a capture without DeepFlow output (e.g. perf)
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("KafkaInfo") == std::string::npos) continue;
      std::map<std::string, std::string> kv = debugFields(line);
      const bool is_response = kv["msg_type"] == "Response";
      const Record* match = nullptr;
      for (const Record& r : records) {
        if (r.f.request_id && std::to_string(*r.f.request_id) == kv["correlation_id"]) match = &r;
      }
      ASSERT_NE(match, nullptr) << line;
      const Record& r = *match;
      EXPECT_EQ(r.f.request_type, kv["api_key"]) << line;
      EXPECT_EQ(r.f.version, kv["api_version"]) << line;
      EXPECT_EQ(is_response ? r.f.x_request_id_1 : r.f.x_request_id_0, kv["correlation_id"]) << line;
      if (!kv["topic_name"].empty()) {
        EXPECT_EQ(r.f.request_domain, kv["topic_name"]) << line;
        EXPECT_EQ(r.f.endpoint, kv["topic_name"] + "-" + kv["partition"]) << line;
      }
      if (kv.count("resource") && !kv["resource"].empty() && kv["resource"] != "None") {
        EXPECT_EQ(r.f.request_resource, kv["resource"]) << line;  // "$topic-$partition:$offset"
      }
      const bool maps_code = kv["api_key"] != "ApiVersions";
      if (is_response && maps_code && kv["status_code"] != "None") {
        EXPECT_EQ(r.f.response_code, std::stoll(kv["status_code"])) << line;
      }
      if (is_response) {
        EXPECT_EQ(r.f.response_length, std::stoll(kv["resp_msg_size"])) << line;
      } else {
        EXPECT_EQ(r.f.request_length, std::stoll(kv["req_msg_size"])) << line;
      }
      ++compared;
    }
  }
  EXPECT_GE(captures, 6u);
  EXPECT_GE(compared, 10u);
}

}  // namespace
}  // namespace l7::kafka
