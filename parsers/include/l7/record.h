// The l7_flow_log record (../shared/spec/l7_flow_log.md is the contract).
//
// `L7Fields` are the columns a protocol decoder (or the SkyWalking mapper)
// fills from the message itself; `Record` adds the columns the harness fills
// from the connection and the capture clock. Field order here follows the
// contract's key order, and record_json.h serializes it in exactly that order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace l7 {

// DeepFlow's L7ResponseStatus numbers.
enum class ResponseStatus : uint8_t {
  kOk = 0,
  kTimeout = 2,
  kServerError = 3,
  kClientError = 4,
  kUnknown = 5,
  kParseFailed = 6,
};

// l7_flow_log.type
enum class RecordType : uint8_t { kRequest = 0, kResponse = 1, kSession = 2 };

// DeepFlow's l7_protocol numbers (the ones this project emits).
enum class L7Protocol : uint16_t {
  kUnknown = 0,
  kHttp1 = 20,
  kHttp2 = 21,
  kKafka = 100,
  kMqtt = 101,
  kAmqp = 102,
  kOpenWire = 103,
  kNats = 104,
  kPulsar = 105,
  kZmtp = 106,
};

struct Attribute {
  std::string name;
  std::string value;
  bool operator==(const Attribute&) const = default;
};

// Columns derived from protocol content. Empty string = absent ("").
struct L7Fields {
  std::string version;
  std::string request_type;
  std::string request_domain;
  std::string request_resource;
  std::optional<int64_t> request_id;
  std::string endpoint;
  ResponseStatus response_status = ResponseStatus::kUnknown;
  std::optional<int64_t> response_code;
  std::string response_exception;
  std::string response_result;
  std::string trace_id;
  std::string trace_id_2;
  std::string span_id;
  std::string parent_span_id;
  std::optional<int> span_kind;
  std::string x_request_id_0;
  std::string x_request_id_1;
  std::optional<int64_t> request_length;
  std::optional<int64_t> response_length;
  std::vector<Attribute> attributes;  // any order; the writer sorts by name
  std::string events;

  // Adds a trace id if it is new: first distinct goes to trace_id, second to
  // trace_id_2, later ones are dropped (the contract keeps two).
  void addTraceId(const std::string& id) {
    if (id.empty() || id == trace_id || id == trace_id_2) return;
    if (trace_id.empty()) {
      trace_id = id;
    } else if (trace_id_2.empty()) {
      trace_id_2 = id;
    }
  }
  bool operator==(const L7Fields&) const = default;
};

struct Record {
  int64_t start_time_us = 0;
  int64_t end_time_us = 0;
  uint64_t flow_id = 0;
  std::string ip4_0, ip4_1, ip6_0, ip6_1;
  bool is_ipv4 = true;
  int protocol = 6;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  L7Protocol l7_protocol = L7Protocol::kUnknown;
  std::string l7_protocol_str;
  RecordType type = RecordType::kSession;
  L7Fields f;
  std::string app_service;
  std::string app_instance;
  std::string observation_point;
  int signal_source = 0;
  int64_t response_duration_us = 0;
  int64_t captured_request_byte = 0;
  int64_t captured_response_byte = 0;
  uint32_t req_tcp_seq = 0;
  uint32_t resp_tcp_seq = 0;

  // Not serialized: order of the record's first message within its input,
  // the last tie-breaker of the contract's output order.
  uint64_t seen_order = 0;
};

}  // namespace l7
