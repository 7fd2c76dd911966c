// How a request and its response become one session record
// (spec/l7_flow_log.md, "Sessions"): the default rule, which a protocol's
// DecoderInfo::merge may wrap with its own.
#pragma once

#include "l7/record.h"

namespace l7 {

// Completes `request` (a type 0 record) with `response` (a type 1 record).
// Request-side columns come from the request; response_status, code,
// exception, result, x_request_id_1, response_length, captured response
// bytes, resp_tcp_seq and end_time from the response; other strings from the
// request when non-empty, else from the response; trace ids are the distinct
// union, request first; attributes the union, request first.
void mergeResponse(Record& request, Record&& response);

// The same, except that a request that did not decode (status 6) keeps its
// status and reason: the exchange shows the failure, and the answer fills
// the other response columns (Kafka's and the template's merge).
void mergeKeepingRequestFailure(Record& request, Record&& response);

}  // namespace l7
