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
#pragma once

#include <string>

#include <boost/json/value.hpp>

#include "check/record_compare.h"

namespace l7h::check {

boost::json::value computeMetrics(const JsonRecords& records);
std::string metricsToText(const boost::json::value& metrics);  // stable, pretty, for goldens
// Prints per-protocol rows, then the `max_endpoints` busiest endpoints.
void printMetricsTable(FILE* out, const boost::json::value& metrics, size_t max_endpoints = 10);

}  // namespace l7h::check
