// The replay's memory bounds (capture/memory_budget.h): the budget's
// accounting balances, its degrade steps run in the stated order and are
// counted, well-formed traffic beside the hostile connection keeps every
// record, and nothing changes while the limit is not reached. Memory
// itself (peak RSS) is measured in bench/memory_bench.sh, not here.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "capture/frame_builder.h"
#include "capture/memory_budget.h"
#include "check/metrics.h"
#include "l7/record_json.h"
#include "session/packed_fields.h"
#include "session/replay.h"
#include "synth/packetizer.h"

namespace l7h {
namespace {

using l7::Direction;

const std::string kConnect("\x10\x0D\x00\x04MQTT\x04\x02\x00\x3C\x00\x01m", 15);
const std::string kConnack("\x20\x02\x00\x00", 4);
const std::string kPingreq("\xC0\x00", 2);
const std::string kPingresp("\xD0\x00", 2);
const std::string kPublish("\x30\x02\x00\x00", 4);  // QoS 0, empty topic

// MQTT connections to 10.0.0.2:1883, one client port each; frames of all
// of them merged in time order into one capture.
class Capture {
 public:
  // Returns the connection's index; it opens with CONNECT / CONNACK at `ts`.
  size_t open(int64_t ts) {
    synth::Conversation c;
    c.client.ip.bytes = {10, 0, 0, 1};
    c.server.ip.bytes = {10, 0, 0, 2};
    c.client.port = static_cast<uint16_t>(40000 + conns_.size());
    c.server.port = 1883;
    synth::PacketPlan plan;
    plan.segmentation = synth::Segmentation::kWhole;
    plan.close = false;  // open until the capture ends: their pending requests stay pending
    conns_.push_back(std::make_unique<synth::Packetizer>(c, plan));
    write(conns_.size() - 1, Direction::kToServer, kConnect, ts);
    write(conns_.size() - 1, Direction::kToClient, kConnack, ts);
    return conns_.size() - 1;
  }
  void write(size_t conn, Direction dir, const std::string& bytes, int64_t ts) { conns_[conn]->write(dir, bytes, ts); }
  std::vector<uint8_t> bytes() {
    std::vector<CapturedFrame> all;
    for (auto& c : conns_) {
      auto frames = c->finish();
      all.insert(all.end(), frames.begin(), frames.end());
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.ts_us < b.ts_us; });
    return pcapBytes(LinkType::kEthernet, all);
  }

 private:
  std::vector<std::unique_ptr<synth::Packetizer>> conns_;
};

struct Replayed {
  std::vector<l7::Record> records;
  ReplayStats stats;
};

Replayed replay(const std::vector<uint8_t>& capture, const ReplayOptions& options) {
  Replayed run;
  const ReplayResult r =
      replayCaptureBytes(capture, options, [&](const l7::Record& rec) { run.records.push_back(rec); });
  EXPECT_TRUE(r.ok) << r.error;
  run.stats = r.stats;
  return run;
}

// Records of one client port, by type * 10 + status.
std::map<int, size_t> tally(const Replayed& run, uint16_t client_port) {
  std::map<int, size_t> out;
  for (const auto& r : run.records) {
    if (r.client_port == client_port) ++out[static_cast<int>(r.type) * 10 + static_cast<int>(r.f.response_status)];
  }
  return out;
}

std::string jsonLine(const l7::Record& r) {
  std::string out;
  l7::appendRecordJson(r, out);
  return out;
}

constexpr int64_t kT0 = 1'700'000'000'000'000;

// `flooders` connections each sending `pings` PINGREQs nobody answers, and
// one well-formed connection (port 40000) with `pairs` answered PINGREQs
// spread over the same time.
std::vector<uint8_t> pendingFlood(int flooders, int pings, int pairs) {
  Capture cap;
  const size_t good = cap.open(kT0);
  for (int i = 0; i < flooders; ++i) {
    const size_t c = cap.open(kT0 + 1 + i);
    for (int k = 0; k < pings; ++k) cap.write(c, Direction::kToServer, kPingreq, kT0 + 1000 + i * 10'000 + k);
  }
  for (int k = 0; k < pairs; ++k) {
    const int64_t ts = kT0 + 2000 + int64_t{k} * (flooders * 10'000 / std::max(pairs, 1));
    cap.write(good, Direction::kToServer, kPingreq, ts);
    cap.write(good, Direction::kToClient, kPingresp, ts + 5);
  }
  return cap.bytes();
}

TEST(MemoryBudget, AccountingBalancesAndNothingChangesUnderTheLimit) {
  const auto capture = pendingFlood(8, 500, 200);
  ReplayOptions options;
  MemoryBudget budget(1ull << 30);
  options.budget = &budget;
  const Replayed run = replay(capture, options);
  // Every holder gave back what it counted: an unbalanced account would
  // drift until it looked over the limit.
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_GT(budget.peak(), 8u * 500 * 100);  // the pending requests were counted
  for (auto h = 0; h < static_cast<int>(MemoryHolder::kCount); ++h) {
    EXPECT_EQ(budget.used(static_cast<MemoryHolder>(h)), 0u) << MemoryBudget::holderName(static_cast<MemoryHolder>(h));
  }
  EXPECT_EQ(run.stats.held_released_early + run.stats.pending_flushed_for_memory + run.stats.tails_dropped_for_memory, 0u);

  // The same capture with no practical limit gives the same records, in the same order.
  ReplayOptions unlimited;
  unlimited.memory_limit_bytes = 1ull << 40;
  unlimited.max_held_records = UINT32_MAX;
  const Replayed reference = replay(capture, unlimited);
  ASSERT_EQ(run.records.size(), reference.records.size());
  for (size_t i = 0; i < run.records.size(); ++i) {
    ASSERT_EQ(jsonLine(run.records[i]), jsonLine(reference.records[i])) << i;
  }
}

TEST(MemoryBudget, PendingFloodFlushesOldestPendingAndLosesNoRecord) {
  const auto capture = pendingFlood(20, 1000, 300);
  ReplayOptions options;
  options.memory_limit_bytes = 2u << 20;  // 20,000 pending requests take about 4 MB
  const Replayed run = replay(capture, options);
  // Steps 1 and 2 ran, step 3 had nothing to do (no tails are held).
  EXPECT_GT(run.stats.pending_flushed_for_memory, 0u);
  EXPECT_EQ(run.stats.tails_dropped_for_memory, 0u);
  // Over by at most what one packet adds (here a few pending requests).
  EXPECT_LE(run.stats.memory_accounted_peak, (2u << 20) + (64u << 10));
  // Every request of the flood is a record (type 0, status 5: flushed or
  // unanswered at the end) and the well-formed connection's 300 answers
  // are all there: paired, or beside a flushed request.
  size_t flood = 0;
  for (int i = 1; i <= 20; ++i) flood += tally(run, static_cast<uint16_t>(40000 + i))[5];
  EXPECT_EQ(flood, 20u * 1000);
  auto good = tally(run, 40000);
  EXPECT_EQ(good[20] + good[10], 300u + 1);  // + CONNECT/CONNACK
  EXPECT_EQ(good[20] + good[5], 300u + 1);
  EXPECT_EQ(run.records.size(), run.stats.records);
}

TEST(MemoryBudget, LargestTailsAreDroppedLastAndCounted) {
  // Connection 1 holds a tail: a PUBLISH claiming 3,000,000 bytes that
  // never all come (1.5 MB do). Connection 0 is well-formed meanwhile.
  Capture cap;
  const size_t good = cap.open(kT0);
  const size_t big = cap.open(kT0 + 1);
  std::string header("\x30", 1);
  for (uint32_t n = 3'000'000; n > 0; n >>= 7) header += static_cast<char>((n & 0x7F) | (n >= 128 ? 0x80 : 0));
  header += std::string("\x00\x01t", 3);
  cap.write(big, Direction::kToServer, header, kT0 + 10);
  for (int k = 0; k < 1000; ++k) cap.write(big, Direction::kToServer, std::string(1500, 'x'), kT0 + 20 + k * 100);
  for (int k = 0; k < 100; ++k) {
    cap.write(good, Direction::kToServer, kPingreq, kT0 + 15 + k * 1000);
    cap.write(good, Direction::kToClient, kPingresp, kT0 + 16 + k * 1000);
  }
  ReplayOptions options;
  options.memory_limit_bytes = 1u << 20;
  const Replayed run = replay(cap.bytes(), options);
  EXPECT_GT(run.stats.tails_dropped_for_memory, 0u);
  EXPECT_GE(run.stats.tail_bytes_dropped_for_memory, 512u << 10);
  auto good_records = tally(run, 40000);
  EXPECT_EQ(good_records[20] + good_records[10], 100u + 1);

  // Without the limit the same tail is simply held (no drop is counted).
  const Replayed unlimited = replay(cap.bytes(), ReplayOptions{});
  EXPECT_EQ(unlimited.stats.tails_dropped_for_memory, 0u);
}

TEST(MemoryBudget, OneUnansweredRequestDoesNotPinEveryHeldRecord) {
  // Connection 1's PINGREQ is never answered; connection 0 publishes
  // 5000 messages behind it within the session timeout.
  for (bool answered : {false, true}) {
    Capture cap;
    const size_t publisher = cap.open(kT0);
    const size_t pinger = cap.open(kT0 + 1);
    cap.write(pinger, Direction::kToServer, kPingreq, kT0 + 5);
    if (answered) cap.write(pinger, Direction::kToClient, kPingresp, kT0 + 6);
    for (int k = 0; k < 5000; ++k) cap.write(publisher, Direction::kToServer, kPublish, kT0 + 100 + k * 100);
    ReplayOptions options;
    options.max_held_records = 1000;
    const Replayed run = replay(cap.bytes(), options);
    EXPECT_EQ(run.records.size(), 5000u + 3) << answered;  // two CONNECTs and the PINGREQ
    if (answered) {
      // Nothing pins the watermark: the cap never acts and order is strict.
      EXPECT_EQ(run.stats.held_released_early, 0u);
      EXPECT_TRUE(std::is_sorted(run.records.begin(), run.records.end(),
                                 [](const auto& a, const auto& b) { return a.start_time_us < b.start_time_us; }));
    } else {
      EXPECT_GE(run.stats.held_released_early, 4000u);
    }
  }
}

TEST(PackedFields, EveryFieldRoundTrips) {
  l7::L7Fields f;
  f.version = "5";
  f.request_type = "PUBLISH";
  f.request_domain = "broker.example";
  f.request_resource = std::string(300, 'r');
  f.request_id = -7;
  f.endpoint = "a/b";
  f.response_status = l7::ResponseStatus::kClientError;
  f.response_code = 135;
  f.response_exception = "denied";
  f.response_result = "{}";
  f.trace_id = "t1";
  f.trace_id_2 = "t2";
  f.span_id = "s";
  f.parent_span_id = "p";
  f.span_kind = 2;
  f.x_request_id_0 = "x0";
  f.x_request_id_1 = "x1";
  f.request_length = 1ll << 40;
  f.response_length = 0;
  f.attributes = {{"k", "v"}, {"", std::string(200, 'z')}};
  f.events = "[]";
  l7::L7Fields back;
  PackedFields(f).unpack(back);
  EXPECT_EQ(back, f);
  // A new L7Fields member must be packed too: this fails until it is.
  static_assert(sizeof(l7::L7Fields) == 14 * sizeof(std::string) + 4 * sizeof(std::optional<int64_t>) +
                                            sizeof(std::optional<int>) + sizeof(std::vector<l7::Attribute>) + 8,
                "L7Fields changed: update PackedFields");

  l7::L7Fields empty;
  l7::L7Fields empty_back;
  empty_back.request_type = "stale";
  PackedFields packed(empty);
  packed.unpack(empty_back);
  EXPECT_EQ(empty_back.response_status, empty.response_status);
  EXPECT_LT(packed.heapBytes(), 32u);
}

TEST(Metrics, AccumulatesAsComputedAndFoldsEndpointsPastItsBytes) {
  check::JsonRecords records;
  for (int i = 0; i < 50; ++i) {
    l7::Record r;
    r.l7_protocol_str = "MQTT";
    r.ip4_1 = "10.0.0.2";
    r.server_port = 1883;
    r.type = l7::RecordType::kSession;
    r.f.endpoint = "topic/" + std::to_string(i % 10);
    r.f.response_status = i % 7 == 0 ? l7::ResponseStatus::kServerError : l7::ResponseStatus::kOk;
    r.captured_request_byte = 10;
    r.captured_response_byte = 4;
    records.push_back(check::recordToJson(r));
  }
  check::MetricsAccumulator m;
  for (const auto& r : records) m.add(r);
  EXPECT_EQ(check::metricsToText(m.result()), check::metricsToText(check::computeMetrics(records)));

  MemoryBudget budget;
  {
    check::MetricsAccumulator small(&budget, 600);
    for (const auto& r : records) small.add(r);
    EXPECT_GT(small.foldedEndpoints(), 0u);
    EXPECT_GT(budget.used(MemoryHolder::kMetrics), 0u);
    const auto endpoints = small.result().as_object().at("endpoints").as_array();
    EXPECT_LT(endpoints.size(), 10u);
    int64_t logs = 0;
    for (const auto& e : endpoints) logs += e.as_object().at("log_count").as_int64();
    EXPECT_EQ(logs, 50);  // folded, not lost
  }
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace l7h
