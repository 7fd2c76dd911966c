// Fetch (api key 1), versions 0-17.
//   request:  [replica_id v0-14] max_wait_ms min_bytes [max_bytes v3+]
//             [isolation_level v4+] [session_id session_epoch v7+]
//             topics[ topic (v0-12) | topic_id (v13+), partitions[ partition
//               [current_leader_epoch v9+] fetch_offset [last_fetched_epoch v12+]
//               [log_start_offset v5+] partition_max_bytes ] ]
//             [forgotten_topics_data[ topic | topic_id, partitions[] ] v7+] [rack_id v11+]
//   response: [throttle_time_ms v1+] [error_code session_id v7+]
//             responses[ topic | topic_id, partitions[ partition_index error_code
//               high_watermark [last_stable_offset v4+] [log_start_offset v5+]
//               [aborted_transactions[ producer_id first_offset ] v4+]
//               [preferred_read_replica v11+] records ] ]
// Flexible from v12; topic ids replace names from v13.
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

WireError decodeFetchRequest(KafkaReader& r, const BodyOptions& o, RequestInfo& out) {
  const int16_t v = o.api_version;
  int32_t i32 = 0;
  int8_t isolation = 0;
  if (v <= 14 && !r.i32(i32)) return r.error();                  // replica_id
  if (!r.i32(i32) || !r.i32(i32)) return r.error();              // max_wait_ms, min_bytes
  if (v >= 3 && !r.i32(i32)) return r.error();                   // max_bytes
  if (v >= 4 && !r.i8(isolation)) return r.error();
  if (v >= 7 && (!r.i32(i32) || !r.i32(i32))) return r.error();  // session_id, session_epoch
  uint32_t topics = 0;
  if (!r.arrayCount(topics)) return r.error();
  for (uint32_t t = 0; t < topics; ++t) {
    std::string topic;
    uint32_t partitions = 0;
    if (!readTopic(r, v, topic) || !r.arrayCount(partitions)) return r.error();
    if (t == 0) out.first.topic = topic;
    for (uint32_t p = 0; p < partitions; ++p) {
      int32_t partition = 0, epoch = 0, max_bytes = 0;
      int64_t fetch_offset = 0, log_start_offset = 0;
      if (!r.i32(partition)) return r.error();
      if (v >= 9 && !r.i32(epoch)) return r.error();  // current_leader_epoch
      if (!r.i64(fetch_offset)) return r.error();
      if (t == 0 && p == 0) {
        out.first.partition = partition;
        out.fetch_offset = fetch_offset;
      }
      if (v >= 12 && !r.i32(epoch)) return r.error();  // last_fetched_epoch
      if (v >= 5 && !r.i64(log_start_offset)) return r.error();
      if (!r.i32(max_bytes) || !r.tags()) return r.error();
    }
    if (!r.tags()) return r.error();
  }
  if (v >= 7) {
    uint32_t forgotten = 0;
    if (!r.arrayCount(forgotten)) return r.error();
    for (uint32_t f = 0; f < forgotten; ++f) {
      std::string topic;
      uint32_t partitions = 0;
      if (!readTopic(r, v, topic) || !r.arrayCount(partitions)) return r.error();
      for (uint32_t p = 0; p < partitions; ++p) {
        if (!r.i32(i32)) return r.error();
      }
      if (!r.tags()) return r.error();
    }
  }
  std::string_view rack_id;
  if (v >= 11 && !r.string(rack_id)) return r.error();
  r.tags();
  return finishBody(r);
}

WireError decodeFetchResponse(KafkaReader& r, const BodyOptions& o, ResponseInfo& out, L7Fields& trace) {
  const int16_t v = o.api_version;
  int32_t i32 = 0;
  int64_t i64 = 0;
  if (v >= 1 && !r.i32(i32)) return r.error();  // throttle_time_ms
  if (v >= 7) {
    int16_t top_error = 0;
    if (!r.i16(top_error) || !r.i32(i32)) return r.error();  // error_code, session_id
    out.error_code = top_error;
  }
  uint32_t topics = 0;
  if (!r.arrayCount(topics)) return r.error();
  bool trace_read = false;
  for (uint32_t t = 0; t < topics; ++t) {
    std::string topic;
    uint32_t partitions = 0;
    if (!readTopic(r, v, topic) || !r.arrayCount(partitions)) return r.error();
    if (t == 0) out.first.topic = topic;
    for (uint32_t p = 0; p < partitions; ++p) {
      int32_t partition = 0;
      int16_t error_code = 0;
      if (!r.i32(partition) || !r.i16(error_code) || !r.i64(i64)) return r.error();  // .., high_watermark
      if (t == 0 && p == 0) out.first.partition = partition;
      // The top-level code (v7+) speaks for the whole fetch; when it is 0,
      // the first failing partition does, as in DeepFlow.
      if (!out.error_code || (*out.error_code == 0 && error_code != 0)) {
        out.error_code = error_code;
        if (error_code != 0) out.failed = TopicPartition{topic, partition};
      }
      if (v >= 4 && !r.i64(i64)) return r.error();  // last_stable_offset
      if (v >= 5 && !r.i64(i64)) return r.error();  // log_start_offset
      if (v >= 4) {
        uint32_t aborted = 0;
        if (!r.arrayCount(aborted)) return r.error();
        for (uint32_t a = 0; a < aborted; ++a) {
          if (!r.i64(i64) || !r.i64(i64) || !r.tags()) return r.error();
        }
      }
      if (v >= 11 && !r.i32(i32)) return r.error();  // preferred_read_replica
      Bytes records;
      if (!r.bytes(records) || !r.tags()) return r.error();
      // As for Produce: only a header count over the cap fails the response.
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

}  // namespace l7::kafka
