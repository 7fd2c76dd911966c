#include "kafka/kafka_error_codes.h"

#include <string>
#include <string_view>

namespace l7::kafka {
namespace {

bool skipString(KafkaReader& r) {
  std::string_view s;
  return r.string(s);
}

bool throttle(KafkaReader& r, bool present) {
  int32_t ms = 0;
  return !present || r.i32(ms);
}

// [throttle] error_code
std::optional<int16_t> topLevel(KafkaReader& r, bool has_throttle) {
  int16_t code = 0;
  if (!throttle(r, has_throttle) || !r.i16(code)) return std::nullopt;
  return code;
}

// [throttle] topics[ name partitions[ partition_index error_code ... ] ]:
// the first partition's code.
std::optional<int16_t> firstPartition(KafkaReader& r, bool has_throttle) {
  uint32_t topics = 0, partitions = 0;
  int32_t index = 0;
  int16_t code = 0;
  if (!throttle(r, has_throttle) || !r.arrayCount(topics) || topics == 0) return std::nullopt;
  if (!skipString(r) || !r.arrayCount(partitions) || partitions == 0) return std::nullopt;
  if (!r.i32(index) || !r.i16(code)) return std::nullopt;
  return code;
}

std::optional<int16_t> metadata(KafkaReader& r, int16_t v) {
  uint32_t brokers = 0, topics = 0;
  int32_t i32 = 0;
  int16_t code = 0;
  if (!throttle(r, v >= 3) || !r.arrayCount(brokers)) return std::nullopt;
  for (uint32_t b = 0; b < brokers; ++b) {
    if (!r.i32(i32) || !skipString(r) || !r.i32(i32)) return std::nullopt;  // node_id host port
    if (v >= 1 && !skipString(r)) return std::nullopt;                      // rack
    if (!r.tags()) return std::nullopt;
  }
  if (v >= 2 && !skipString(r)) return std::nullopt;  // cluster_id
  if (v >= 1 && !r.i32(i32)) return std::nullopt;     // controller_id
  if (!r.arrayCount(topics) || topics == 0 || !r.i16(code)) return std::nullopt;
  return code;
}

// v0-7: [throttle v3+] topics[ name partitions[ index offset [epoch v5+]
// metadata error_code ] ] [error_code v2+]. The top-level code speaks for
// the whole fetch when it is not 0.
std::optional<int16_t> offsetFetch(KafkaReader& r, int16_t v) {
  if (v >= 8) return std::nullopt;  // grouped layout: not read
  uint32_t topics = 0, partitions = 0;
  int32_t i32 = 0;
  int64_t i64 = 0;
  int16_t code = 0;
  std::optional<int16_t> first;
  if (!throttle(r, v >= 3) || !r.arrayCount(topics)) return std::nullopt;
  for (uint32_t t = 0; t < topics; ++t) {
    if (!skipString(r) || !r.arrayCount(partitions)) return std::nullopt;
    for (uint32_t p = 0; p < partitions; ++p) {
      if (!r.i32(i32) || !r.i64(i64)) return std::nullopt;
      if (v >= 5 && !r.i32(i32)) return std::nullopt;
      if (!skipString(r) || !r.i16(code) || !r.tags()) return std::nullopt;
      if (!first || (*first == 0 && code != 0)) first = code;
    }
    if (!r.tags()) return std::nullopt;
  }
  if (v >= 2 && r.i16(code) && code != 0) return code;
  return first;
}

std::optional<int16_t> findCoordinator(KafkaReader& r, int16_t v) {
  if (v < 4) return topLevel(r, v >= 1);
  uint32_t coordinators = 0;
  int32_t i32 = 0;
  int16_t code = 0;
  if (!throttle(r, true) || !r.arrayCount(coordinators) || coordinators == 0) return std::nullopt;
  if (!skipString(r) || !r.i32(i32) || !skipString(r) || !r.i32(i32) || !r.i16(code)) return std::nullopt;
  return code;
}

// [throttle] topics[ name [topic_id] error_code ... ]
std::optional<int16_t> firstTopic(KafkaReader& r, bool has_throttle, bool has_topic_id) {
  uint32_t topics = 0;
  int16_t code = 0;
  std::string id;
  if (!throttle(r, has_throttle) || !r.arrayCount(topics) || topics == 0 || !skipString(r)) return std::nullopt;
  if (has_topic_id && !r.uuid(id)) return std::nullopt;
  if (!r.i16(code)) return std::nullopt;
  return code;
}

}  // namespace

std::optional<int16_t> firstErrorCode(KafkaReader& r, int16_t api_key, int16_t v) noexcept {
  switch (api_key) {
    case 2: return firstPartition(r, v >= 2);   // ListOffsets
    case 3: return metadata(r, v);
    case 8: return firstPartition(r, v >= 3);   // OffsetCommit
    case 9: return offsetFetch(r, v);
    case 10: return findCoordinator(r, v);
    case 12: return topLevel(r, v >= 1);        // Heartbeat
    case 15: {                                  // DescribeGroups: groups[ error_code ... ]
      uint32_t groups = 0;
      int16_t code = 0;
      if (!throttle(r, v >= 1) || !r.arrayCount(groups) || groups == 0 || !r.i16(code)) return std::nullopt;
      return code;
    }
    case 16: return topLevel(r, v >= 1);        // ListGroups
    case 17: return topLevel(r, false);         // SaslHandshake
    case 19: return firstTopic(r, v >= 2, v >= 7);  // CreateTopics
    case 20: return firstTopic(r, v >= 1, v >= 6);  // DeleteTopics
    case 22: return topLevel(r, true);          // InitProducerId
    case 25: return topLevel(r, true);          // AddOffsetsToTxn
    case 26: return topLevel(r, true);          // EndTxn
    case 36: return topLevel(r, false);         // SaslAuthenticate
    default: return std::nullopt;
  }
}

}  // namespace l7::kafka
