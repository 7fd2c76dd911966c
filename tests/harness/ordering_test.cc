// The contract's record order: OrderedOutput (the held-record heap, in
// records and in JSON-lines mode) and ShardMerge (replay --threads), each
// against a plain sort of the same keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "l7/record_json.h"
#include "session/ordered_output.h"
#include "session/shard_merge.h"

namespace l7h {
namespace {

Endpoint endpoint(uint8_t host, uint16_t port, bool v4 = true) {
  Endpoint e;
  e.ip.v4 = v4;
  e.ip.bytes[0] = 10;
  e.ip.bytes[3] = host;
  if (!v4) e.ip.bytes[15] = host;
  e.port = port;
  return e;
}

// Keys crowded onto few start times and few flows, so that ties on the
// start time (and on start time and flow) are common; seen orders unique.
std::vector<RecordSortKey> crowdedKeys(std::mt19937& rng, size_t n) {
  std::vector<RecordSortKey> keys;
  for (size_t i = 0; i < n; ++i) {
    RecordSortKey k;
    k.start_time_us = 1000 + static_cast<int64_t>(rng() % 40);
    const bool v4 = rng() % 4 != 0;
    k.client = endpoint(static_cast<uint8_t>(rng() % 3), static_cast<uint16_t>(40000 + rng() % 3), v4);
    k.server = endpoint(static_cast<uint8_t>(100 + rng() % 2), 4222, v4);
    k.seen_order = i + 1;
    keys.push_back(k);
  }
  std::shuffle(keys.begin(), keys.end(), rng);
  return keys;
}

l7::Record recordFor(const RecordSortKey& k) {
  l7::Record r;
  r.start_time_us = k.start_time_us;
  r.seen_order = k.seen_order;
  r.client_port = k.client.port;
  r.server_port = k.server.port;
  r.f.request_resource = "a resource name longer than the inline buffer " + std::to_string(k.seen_order);
  return r;
}

TEST(OrderedOutput, ReleasesInKeyOrderWithTiesOnStartTimeAndFlow) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    const std::vector<RecordSortKey> keys = crowdedKeys(rng, 500);
    std::vector<uint64_t> released;
    std::vector<RecordSortKey> released_keys;
    OrderedOutput* self = nullptr;
    OrderedOutput out([&](const l7::Record& r) {
      released.push_back(r.seen_order);
      released_keys.push_back(self->releasingKey());
    });
    self = &out;
    for (const RecordSortKey& k : keys) out.push(k, recordFor(k));
    EXPECT_EQ(out.held(), keys.size());
    out.releaseAll();
    std::vector<RecordSortKey> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(released.size(), sorted.size());
    for (size_t i = 0; i < sorted.size(); ++i) {
      EXPECT_EQ(released[i], sorted[i].seen_order) << "position " << i;
      EXPECT_TRUE(released_keys[i] == sorted[i]) << "releasingKey at position " << i;
    }
  }
}

TEST(OrderedOutput, WatermarkReleasesOnlyWhatIsBelowItAndSlotsAreReused) {
  std::mt19937 rng(11);
  std::vector<uint64_t> released;
  OrderedOutput out([&](const l7::Record& r) { released.push_back(r.seen_order); });
  // Batches of keys at or after the last watermark, released a window at a
  // time: the whole output is one sorted sequence.
  std::vector<RecordSortKey> all;
  uint64_t seen = 0;
  int64_t watermark = 0;
  for (int batch = 0; batch < 30; ++batch) {
    for (int i = 0; i < 40; ++i) {
      RecordSortKey k;
      k.start_time_us = watermark + static_cast<int64_t>(rng() % 50);
      k.client = endpoint(static_cast<uint8_t>(rng() % 2), 1000);
      k.server = endpoint(9, 9092);
      k.seen_order = ++seen;
      all.push_back(k);
      out.push(k, recordFor(k));
    }
    watermark += 20;
    const size_t before = released.size();
    out.releaseBefore(watermark);
    for (size_t i = before; i < released.size(); ++i) {
      const auto it = std::find_if(all.begin(), all.end(), [&](const RecordSortKey& k) { return k.seen_order == released[i]; });
      EXPECT_LT(it->start_time_us, watermark);
    }
  }
  out.releaseAll();
  std::sort(all.begin(), all.end());
  ASSERT_EQ(released.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(released[i], all[i].seen_order);
}

TEST(OrderedOutput, JsonLinesModeGivesTheLinesOfTheRecordsInTheSameOrder) {
  std::mt19937 rng(3);
  const std::vector<RecordSortKey> keys = crowdedKeys(rng, 300);
  std::string from_records, from_lines;
  MemoryBudget budget_records(1u << 30), budget_lines(1u << 30);
  {
    OrderedOutput records([&](const l7::Record& r) { l7::appendRecordJson(r, from_records); }, &budget_records);
    OrderedOutput lines(AsJsonLines{}, [&](std::string_view line) { from_lines.append(line); }, &budget_lines);
    for (size_t i = 0; i < keys.size(); ++i) {
      records.push(keys[i], recordFor(keys[i]));
      lines.push(keys[i], recordFor(keys[i]));
      if (i % 50 == 49) {  // slots are reused after a release
        records.releaseBefore(1020);
        lines.releaseBefore(1020);
      }
    }
    records.releaseAll();
    lines.releaseAll();
  }
  EXPECT_FALSE(from_lines.empty());
  EXPECT_EQ(from_lines, from_records);
  // Everything either held counted against its budget was given back.
  EXPECT_EQ(budget_records.used(), 0u);
  EXPECT_EQ(budget_lines.used(), 0u);
}

// Shards as replay --threads forms them: a flow always in one shard.
size_t shardOf(const RecordSortKey& k, size_t shards) {
  return (k.client.ip.bytes[3] * 7u + k.client.port + k.server.ip.bytes[3]) % shards;
}

TEST(ShardMerge, InterleavesShardStreamsIntoTheSingleOrder) {
  std::mt19937 rng(5);
  for (int round = 0; round < 30; ++round) {
    const size_t shards = 1 + rng() % 4;
    std::vector<RecordSortKey> keys = crowdedKeys(rng, 400);
    std::sort(keys.begin(), keys.end());
    // Each shard releases its own keys in order, in windows below a rising
    // watermark, as a worker does after each batch.
    std::vector<std::vector<RecordSortKey>> per_shard(shards);
    for (const RecordSortKey& k : keys) per_shard[shardOf(k, shards)].push_back(k);
    std::vector<size_t> next(shards, 0);
    ShardMerge<uint64_t> merge(shards);
    std::vector<uint64_t> out;
    auto emit = [&] { merge.emit([&](uint64_t seen) { out.push_back(seen); }); };
    for (int64_t watermark = 1000; watermark <= 1045; watermark += 1 + static_cast<int64_t>(rng() % 7)) {
      // Shards hand back in a random order, each up to its own watermark.
      std::vector<size_t> order(shards);
      for (size_t s = 0; s < shards; ++s) order[s] = s;
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t s : order) {
        const int64_t w = watermark - static_cast<int64_t>(rng() % 3);
        while (next[s] < per_shard[s].size() && per_shard[s][next[s]].start_time_us < w) {
          merge.add(s, per_shard[s][next[s]], per_shard[s][next[s]].seen_order);
          ++next[s];
        }
        merge.setWatermark(s, w);
        emit();
      }
    }
    for (size_t s = 0; s < shards; ++s) {
      for (; next[s] < per_shard[s].size(); ++next[s]) merge.add(s, per_shard[s][next[s]], per_shard[s][next[s]].seen_order);
      merge.finish(s);
    }
    emit();
    ASSERT_EQ(out.size(), keys.size());
    for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(out[i], keys[i].seen_order) << "position " << i;
    EXPECT_EQ(merge.waiting(), 0u);
  }
}

TEST(ShardMerge, WaitsForAShardThatMightStillPrecede) {
  ShardMerge<int> merge(2);
  RecordSortKey k;
  k.start_time_us = 100;
  merge.add(0, k, 1);
  merge.setWatermark(0, 101);
  std::vector<int> out;
  auto emit = [&] { merge.emit([&](int v) { out.push_back(v); }); };
  emit();
  EXPECT_TRUE(out.empty()) << "shard 1 has said nothing yet";
  merge.setWatermark(1, 100);
  emit();
  EXPECT_TRUE(out.empty()) << "shard 1 may still release a record starting at 100";
  merge.setWatermark(1, 101);
  emit();
  EXPECT_EQ(out, std::vector<int>{1});
}

}  // namespace
}  // namespace l7h
