#include "l7/merge.h"

#include <algorithm>

namespace l7 {
namespace {

void takeIfEmpty(std::string& mine, std::string& theirs) {
  if (mine.empty() && !theirs.empty()) mine = std::move(theirs);
}

}  // namespace

void mergeResponse(Record& request, Record&& response) {
  L7Fields& q = request.f;
  L7Fields& a = response.f;
  request.type = RecordType::kSession;
  request.end_time_us = response.start_time_us;
  request.response_duration_us = std::max<int64_t>(0, request.end_time_us - request.start_time_us);
  request.captured_response_byte = response.captured_response_byte;
  request.resp_tcp_seq = response.resp_tcp_seq;

  q.response_status = a.response_status;
  q.response_code = a.response_code;
  q.response_exception = std::move(a.response_exception);
  q.response_result = std::move(a.response_result);
  q.x_request_id_1 = std::move(a.x_request_id_1);
  q.response_length = a.response_length;

  takeIfEmpty(q.version, a.version);
  takeIfEmpty(q.request_type, a.request_type);
  takeIfEmpty(q.request_domain, a.request_domain);
  takeIfEmpty(q.request_resource, a.request_resource);
  takeIfEmpty(q.endpoint, a.endpoint);
  takeIfEmpty(q.span_id, a.span_id);
  takeIfEmpty(q.parent_span_id, a.parent_span_id);
  takeIfEmpty(q.x_request_id_0, a.x_request_id_0);
  takeIfEmpty(q.events, a.events);
  if (!q.request_id) q.request_id = a.request_id;
  if (!q.span_kind) q.span_kind = a.span_kind;
  q.addTraceId(a.trace_id);
  q.addTraceId(a.trace_id_2);
  for (Attribute& attr : a.attributes) {
    const bool known = std::any_of(q.attributes.begin(), q.attributes.end(),
                                   [&](const Attribute& x) { return x.name == attr.name; });
    if (!known) q.attributes.push_back(std::move(attr));
  }
}

void mergeKeepingRequestFailure(Record& request, Record&& response) {
  const bool failed = request.f.response_status == ResponseStatus::kParseFailed;
  std::string reason = failed ? request.f.response_exception : std::string();
  mergeResponse(request, std::move(response));
  if (failed) {
    request.f.response_status = ResponseStatus::kParseFailed;
    request.f.response_exception = std::move(reason);
  }
}

}  // namespace l7
