// The mapping tables' "Metrics Field Mapping" rows computed from records,
// per protocol and per (server ip, server port, endpoint).
//
// Definitions (one record = one log, log_count):
//   request        records with a request side (type 0, or type 2 with
//                  captured request bytes: merged sessions and one-way
//                  messages sent by the client)
//   response       records with a response side (type 1, or type 2 with
//                  captured response bytes)
//   request_length / response_length   sums of those columns (nulls skipped)
//   session_length request_length + response_length
//   client_error / server_error        records with response_status 4 / 3
//   error          client_error + server_error
//   *_ratio        the error count divided by response (0 when no responses)
//   timeout        records with response_status 2 (not in the tables;
//                  reported because a silent peer is what users look for)
//
// Computed incrementally (MetricsAccumulator): a replay keeps one row per
// protocol and endpoint, not its records. Endpoints are wire text, so their
// rows count against the replay's memory budget, and past `max_bytes` new
// endpoints are summed into one "(other endpoints)" row per protocol.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include <boost/json/value.hpp>

#include "capture/memory_budget.h"
#include "check/record_compare.h"

namespace l7h::check {

class MetricsAccumulator {
 public:
  static constexpr uint64_t kDefaultMaxBytes = 64ull << 20;
  explicit MetricsAccumulator(MemoryBudget* budget = nullptr, uint64_t max_bytes = kDefaultMaxBytes);
  ~MetricsAccumulator();
  MetricsAccumulator(const MetricsAccumulator&) = delete;
  MetricsAccumulator& operator=(const MetricsAccumulator&) = delete;

  void add(const boost::json::object& record);
  void add(const l7::Record& record);  // as its JSON row would count
  boost::json::value result() const;
  uint64_t foldedEndpoints() const { return folded_; }

 private:
  struct Counts;
  using EndpointKey = std::tuple<std::string, std::string, int64_t, std::string>;
  std::map<std::string, Counts> per_protocol_;
  std::map<EndpointKey, Counts> per_endpoint_;
  MemoryBudget* budget_;
  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  uint64_t folded_ = 0;
};

boost::json::value computeMetrics(const JsonRecords& records);
std::string metricsToText(const boost::json::value& metrics);  // stable, pretty, for goldens
// Prints per-protocol rows, then the `max_endpoints` busiest endpoints.
void printMetricsTable(FILE* out, const boost::json::value& metrics, size_t max_endpoints = 10);

}  // namespace l7h::check
