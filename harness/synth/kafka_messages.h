// Kafka messages of every decoded API, any version, built from the layouts
// of https://kafka.apache.org/protocol#protocol_messages. Shared by the
// synthesizer (kafka_synth.cc), the unit tests and the benchmarks.
#pragma once

#include <string>
#include <vector>

#include "synth/kafka_wire.h"

namespace l7h::synth::kafkawire {

// API keys (protocol guide, "Api Keys"); written out here so that the
// synthesizer shares nothing with the decoder it checks.
inline constexpr int16_t kProduce = 0;
inline constexpr int16_t kFetch = 1;
inline constexpr int16_t kMetadata = 3;
inline constexpr int16_t kJoinGroup = 11;
inline constexpr int16_t kHeartbeat = 12;
inline constexpr int16_t kLeaveGroup = 13;
inline constexpr int16_t kSyncGroup = 14;
inline constexpr int16_t kApiVersions = 18;

inline const std::string kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
inline const std::string kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
// sw8 with trace id "3.4.5" (base64 "My40LjU="), segment "1.2.3", span 4.
inline const std::string kSw8 = "1-My40LjU=-MS4yLjM=-4-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI3LjAuMC4xOjgwODA=";

inline std::string produceRequest(int16_t v, int32_t corr, const std::string& topic, int32_t partition,
                           const std::string& records, int16_t acks = -1) {
  const bool flex = v >= 9;
  W b(flex);
  if (v >= 3) b.nullStr();
  b.i16(acks).i32(30000).arr(1);
  if (v >= 13) b.uuid(0x10); else b.str(topic);
  b.arr(1).i32(partition).bytes(records).tags().tags().tags();
  return request(kProduce, v, corr, flex, b.str());
}

struct PartitionResult {
  int32_t index;
  int16_t error;
  int64_t base_offset;
};

inline std::string produceResponse(int16_t v, int32_t corr, const std::string& topic,
                            const std::vector<PartitionResult>& partitions) {
  const bool flex = v >= 9;
  W b(flex);
  b.arr(1);
  if (v >= 13) b.uuid(0x10); else b.str(topic);
  b.arr(static_cast<uint32_t>(partitions.size()));
  for (const auto& p : partitions) {
    b.i32(p.index).i16(p.error).i64(p.base_offset);
    if (v >= 2) b.i64(-1);
    if (v >= 5) b.i64(0);
    if (v >= 8) b.arr(0).nullStr();
    b.tags();
  }
  b.tags();
  if (v >= 1) b.i32(0);
  b.tags();
  return response(corr, flex, b.str());
}

inline std::string fetchRequest(int16_t v, int32_t corr, const std::string& topic, int32_t partition, int64_t offset) {
  const bool flex = v >= 12;
  W b(flex);
  if (v <= 14) b.i32(-1);
  b.i32(500).i32(1);
  if (v >= 3) b.i32(52428800);
  if (v >= 4) b.i8(0);
  if (v >= 7) b.i32(0).i32(-1);
  b.arr(1);
  if (v >= 13) b.uuid(0xa0); else b.str(topic);
  b.arr(1).i32(partition);
  if (v >= 9) b.i32(-1);
  b.i64(offset);
  if (v >= 12) b.i32(-1);
  if (v >= 5) b.i64(-1);
  b.i32(1048576).tags().tags();
  if (v >= 7) b.arr(0);
  if (v >= 11) b.str("");
  b.tags();
  return request(kFetch, v, corr, flex, b.str());
}

inline std::string fetchResponse(int16_t v, int32_t corr, const std::string& topic, int32_t partition, int16_t top_error,
                          int16_t partition_error, const std::string& records) {
  const bool flex = v >= 12;
  W b(flex);
  if (v >= 1) b.i32(0);
  if (v >= 7) b.i16(top_error).i32(0);
  b.arr(1);
  if (v >= 13) b.uuid(0xa0); else b.str(topic);
  b.arr(1).i32(partition).i16(partition_error).i64(10);
  if (v >= 4) b.i64(10);
  if (v >= 5) b.i64(0);
  if (v >= 4) b.arr(0);
  if (v >= 11) b.i32(-1);
  b.bytes(records).tags().tags().tags();
  return response(corr, flex, b.str());
}

inline std::string joinGroupRequest(int16_t v, int32_t corr, const std::string& group) {
  const bool flex = v >= 6;
  W b(flex);
  b.str(group).i32(10000);
  if (v >= 1) b.i32(300000);
  b.str("");
  if (v >= 5) b.nullStr();
  b.str("consumer").arr(1).str("range").bytes(std::string("\0\1", 2)).tags();
  if (v >= 8) b.nullStr();
  b.tags();
  return request(kJoinGroup, v, corr, flex, b.str());
}

inline std::string joinGroupResponse(int16_t v, int32_t corr, int16_t error) {
  const bool flex = v >= 6;
  W b(flex);
  if (v >= 2) b.i32(0);
  b.i16(error).i32(1);
  if (v >= 7) b.str("consumer");
  b.str("range").str("m-1");
  if (v >= 9) b.i8(0);
  b.str("m-1").arr(1).str("m-1");
  if (v >= 5) b.nullStr();
  b.bytes("meta").tags().tags();
  return response(corr, flex, b.str());
}

inline std::string leaveGroupRequest(int16_t v, int32_t corr, const std::string& group) {
  const bool flex = v >= 4;
  W b(flex);
  b.str(group);
  if (v <= 2) {
    b.str("m-1");
  } else {
    b.arr(1).str("m-1").nullStr();
    if (v >= 5) b.str("bye");
    b.tags();
  }
  b.tags();
  return request(kLeaveGroup, v, corr, flex, b.str());
}

inline std::string leaveGroupResponse(int16_t v, int32_t corr, int16_t error) {
  const bool flex = v >= 4;
  W b(flex);
  if (v >= 1) b.i32(0);
  b.i16(error);
  if (v >= 3) b.arr(1).str("m-1").nullStr().i16(error).tags();
  b.tags();
  return response(corr, flex, b.str());
}

inline std::string syncGroupRequest(int16_t v, int32_t corr, const std::string& group) {
  const bool flex = v >= 4;
  W b(flex);
  b.str(group).i32(1).str("m-1");
  if (v >= 3) b.nullStr();
  if (v >= 5) b.str("consumer").str("range");
  b.arr(1).str("m-1").bytes("assignment").tags().tags();
  return request(kSyncGroup, v, corr, flex, b.str());
}

inline std::string syncGroupResponse(int16_t v, int32_t corr, int16_t error) {
  const bool flex = v >= 4;
  W b(flex);
  if (v >= 1) b.i32(0);
  b.i16(error);
  if (v >= 5) b.str("consumer").str("range");
  b.bytes("assignment").tags();
  return response(corr, flex, b.str());
}

inline std::string apiVersionsRequest(int16_t v, int32_t corr) {
  const bool flex = v >= 3;
  W b(flex);
  if (v >= 3) b.str("librdkafka").str("2.0.2").tags();
  return request(kApiVersions, v, corr, flex, b.str());
}

inline std::string apiVersionsResponse(int16_t v, int32_t corr, int16_t error) {
  const bool flex = v >= 3 && error == 0;
  W b(flex);
  b.i16(error);
  if (error == 0) {
    b.arr(2).i16(0).i16(0).i16(9).tags().i16(1).i16(0).i16(12).tags();
    if (v >= 1) b.i32(0);
    b.tags();
  } else {
    b.i32(0).i32(0);  // the v0 layout a broker falls back to
  }
  return response(corr, /*flexible_header=*/false, b.str());  // ApiVersions: response header v0
}

inline std::string tracedRecords(int codec = 0) {
  return batch({record(std::nullopt, std::nullopt, {{"traceparent", kTraceparent}, {"sw8", kSw8}}),
                record("k2", "v2", {{"traceparent", "00-11111111111111111111111111111111-2222222222222222-01"}}, 1)},
               codec);
}

}  // namespace l7h::synth::kafkawire
