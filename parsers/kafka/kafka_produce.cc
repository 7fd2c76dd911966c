// Produce (api key 0), versions 0-13.
//   request:  [transactional_id v3+] acks timeout_ms
//             topics[ name (v0-12) | topic_id (v13+), partitions[ index records ] ]
//   response: responses[ name | topic_id, partitions[ index error_code base_offset
//             [log_append_time_ms v2+] [log_start_offset v5+]
//             [record_errors[ batch_index message ] error_message v8+] ] ]
//             [throttle_time_ms v1+]
// Flexible (compact encodings + tagged fields) from v9.
#include "kafka/kafka_bodies.h"
#include "kafka/kafka_records.h"

namespace l7::kafka {
namespace {

constexpr int16_t kTopicIdVersion = 13;

bool readTopic(KafkaReader& r, int16_t version, std::string& out) {
  if (version >= kTopicIdVersion) return r.uuid(out);
  std::string_view name;
  if (!r.string(name)) return false;
  out.assign(name);
  return true;
}

}  // namespace

WireError finishBody(KafkaReader& r) noexcept {
  if (r.error() != WireError::kNone) return r.error();
  if (r.remaining() != 0) r.fail(WireError::kMalformed);
  return r.error();
}

WireError decodeProduceRequest(KafkaReader& r, const BodyOptions& o, RequestInfo& out, L7Fields& trace) {
  const int16_t v = o.api_version;
  std::string_view transactional_id;
  int16_t acks = 0;
  int32_t timeout_ms = 0;
  uint32_t topics = 0;
  if (v >= 3 && !r.string(transactional_id)) return r.error();
  if (!r.i16(acks) || !r.i32(timeout_ms) || !r.arrayCount(topics)) return r.error();
  out.expects_response = acks != 0;
  bool trace_read = false;
  for (uint32_t t = 0; t < topics; ++t) {
    std::string topic;
    uint32_t partitions = 0;
    if (!readTopic(r, v, topic) || !r.arrayCount(partitions)) return r.error();
    if (t == 0) out.first.topic = topic;
    for (uint32_t p = 0; p < partitions; ++p) {
      int32_t index = 0;
      Bytes records;
      if (!r.i32(index)) return r.error();
      if (t == 0 && p == 0) out.first.partition = index;
      if (!r.bytes(records) || !r.tags()) return r.error();
      // Trace context: the first record of the first record batch sent.
      // Only a header count over the cap fails the request (README.md).
      if (!trace_read && !records.empty()) {
        trace_read = true;
        if (applyFirstRecordTrace(records, *o.limits, trace, o.budget).kind == RecordSetKind::kOverCap) {
          r.fail(WireError::kOverCap);
          return r.error();
        }
      }
    }
    if (!r.tags()) return r.error();
  }
  r.tags();
  return finishBody(r);
}

uint32_t partitionDigest(std::string_view topic, int32_t partition) noexcept {
  uint32_t h = 2166136261u;  // FNV-1a
  auto mix = [&](uint8_t b) { h = (h ^ b) * 16777619u; };
  for (char c : topic) mix(static_cast<uint8_t>(c));
  for (int i = 0; i < 4; ++i) mix(static_cast<uint8_t>(static_cast<uint32_t>(partition) >> (8 * i)));
  return h;
}

WireError decodeProduceResponse(KafkaReader& r, const BodyOptions& o, std::optional<uint32_t> request_first,
                                ResponseInfo& out) {
  const int16_t v = o.api_version;
  uint32_t topics = 0;
  if (!r.arrayCount(topics)) return r.error();
  bool matched = false;
  for (uint32_t t = 0; t < topics; ++t) {
    std::string topic;
    uint32_t partitions = 0;
    if (!readTopic(r, v, topic) || !r.arrayCount(partitions)) return r.error();
    for (uint32_t p = 0; p < partitions; ++p) {
      int32_t index = 0;
      int16_t error_code = 0;
      int64_t base_offset = 0, log_append_time = 0, log_start_offset = 0;
      if (!r.i32(index) || !r.i16(error_code) || !r.i64(base_offset)) return r.error();
      if (v >= 2 && !r.i64(log_append_time)) return r.error();
      if (v >= 5 && !r.i64(log_start_offset)) return r.error();
      if (v >= 8) {
        uint32_t record_errors = 0;
        if (!r.arrayCount(record_errors)) return r.error();
        for (uint32_t e = 0; e < record_errors; ++e) {
          int32_t batch_index = 0;
          std::string_view message;
          if (!r.i32(batch_index) || !r.string(message) || !r.tags()) return r.error();
        }
        std::string_view error_message;
        if (!r.string(error_message)) return r.error();
      }
      if (!r.tags()) return r.error();
      // topic/partition/offset describe the request's first partition (or,
      // without the request, the response's first). The code is the first
      // non-zero one of any partition, so a partly failed Produce is not
      // shown as a success.
      const bool is_request_first = request_first && *request_first == partitionDigest(topic, index);
      if (!matched && (is_request_first || (t == 0 && p == 0))) {
        out.first.topic = topic;
        out.first.partition = index;
        out.base_offset = base_offset;
        matched = is_request_first;
      }
      if (!out.error_code || (*out.error_code == 0 && error_code != 0)) {
        out.error_code = error_code;
        if (error_code != 0) out.failed = TopicPartition{topic, index};
      }
    }
    if (!r.tags()) return r.error();
  }
  int32_t throttle_ms = 0;
  if (v >= 1 && !r.i32(throttle_ms)) return r.error();
  r.tags();
  return finishBody(r);
}

}  // namespace l7::kafka
