// Body decoders for the APIs whose fields the mapping table uses: Produce,
// Fetch, JoinGroup, LeaveGroup, SyncGroup and ApiVersions, every version.
// Layouts: https://kafka.apache.org/protocol#protocol_messages and the
// message JSON files of apache/kafka (clients/src/main/resources/common/message).
//
// Each decoder reads the whole body, so a version mismatch or corruption is
// detected (bytes left over count as malformed), and returns the reader's
// error, WireError::kNone on success. What was extracted before an error
// stays in the output: the caller decides whether a truncated prefix (an
// oversized frame) is acceptable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kafka/kafka_wire.h"
#include "l7/decoder.h"
#include "l7/record.h"

namespace l7::kafka {

struct TopicPartition {
  std::string topic;  // name, or the canonical UUID text for topic-id versions
  std::optional<int32_t> partition;
};

struct RequestInfo {
  TopicPartition first;                 // Produce, Fetch: first topic, first partition
  std::optional<int64_t> fetch_offset;  // Fetch: of the first partition
  std::string group_id;                 // JoinGroup, LeaveGroup, SyncGroup
  bool expects_response = true;         // false for acks=0 Produce
};

struct ResponseInfo {
  TopicPartition first;                 // the partition the offset belongs to
  std::optional<int64_t> base_offset;   // Produce
  std::optional<int16_t> error_code;    // the code the mapping uses (see each decoder)
  TopicPartition failed;                // Produce, Fetch: the partition whose code that is, if a partition's
};

struct DecompressionBudget;  // kafka_records.h

struct BodyOptions {
  int16_t api_version = 0;
  const DecoderLimits* limits = nullptr;
  DecompressionBudget* budget = nullptr;  // the connection's; null: none
};

// Finishes a body: tagged fields already read; anything left is malformed.
WireError finishBody(KafkaReader& r) noexcept;

WireError decodeProduceRequest(KafkaReader& r, const BodyOptions& o, RequestInfo& out, L7Fields& trace);
// A topic-partition's 32-bit digest: what a pending request keeps of its
// first partition (in its context word) to find it in the response.
uint32_t partitionDigest(std::string_view topic, int32_t partition) noexcept;

// `request_first`: the digest of the request's first topic-partition, to
// find its offset in the response (brokers need not keep the request's
// order).
WireError decodeProduceResponse(KafkaReader& r, const BodyOptions& o, std::optional<uint32_t> request_first,
                                ResponseInfo& out);
WireError decodeFetchRequest(KafkaReader& r, const BodyOptions& o, RequestInfo& out);
WireError decodeFetchResponse(KafkaReader& r, const BodyOptions& o, ResponseInfo& out, L7Fields& trace);
WireError decodeGroupRequest(KafkaReader& r, int16_t api_key, const BodyOptions& o, RequestInfo& out);
WireError decodeGroupResponse(KafkaReader& r, int16_t api_key, const BodyOptions& o, ResponseInfo& out);
WireError decodeApiVersionsRequest(KafkaReader& r, const BodyOptions& o);
WireError decodeApiVersionsResponse(KafkaReader& r, const BodyOptions& o, ResponseInfo& out);

}  // namespace l7::kafka
