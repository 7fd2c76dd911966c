#include "session/record_merge.h"

#include <algorithm>

namespace l7h {
namespace {

void fillFlowColumns(const FlowColumns& flow, l7::Record& r) {
  r.flow_id = flow.flow_id;
  r.is_ipv4 = flow.client.ip.v4;
  const std::string client = flow.client_ip_text.empty() ? flow.client.ip.toString() : flow.client_ip_text;
  const std::string server = flow.server_ip_text.empty() ? flow.server.ip.toString() : flow.server_ip_text;
  if (r.is_ipv4) {
    r.ip4_0 = client;
    r.ip4_1 = server;
  } else {
    r.ip6_0 = client;
    r.ip6_1 = server;
  }
  r.protocol = 6;
  r.client_port = flow.client.port;
  r.server_port = flow.server.port;
  if (flow.decoder != nullptr) {
    r.l7_protocol = flow.decoder->protocol;
    r.l7_protocol_str = std::string(flow.decoder->name);
  }
  r.signal_source = 0;
}

void takeIfEmpty(std::string& mine, std::string& theirs) {
  if (mine.empty() && !theirs.empty()) mine = std::move(theirs);
}

}  // namespace

void recordFromMessage(const FlowColumns& flow, const MessagePlacement& where, l7::Message&& msg, l7::Record& r) {
  fillFlowColumns(flow, r);
  r.start_time_us = where.ts_us;
  r.end_time_us = where.ts_us;
  const bool from_client = where.direction == l7::Direction::kToServer;
  switch (msg.kind) {
    case l7::MessageKind::kRequest: r.type = l7::RecordType::kRequest; break;
    case l7::MessageKind::kResponse: r.type = l7::RecordType::kResponse; break;
    case l7::MessageKind::kOneWay: r.type = l7::RecordType::kSession; break;
  }
  // Requests are measured on the request side and responses on the response
  // side whatever their direction; a one-way message by its direction.
  const bool request_side = msg.kind == l7::MessageKind::kRequest ||
                            (msg.kind == l7::MessageKind::kOneWay && from_client);
  if (request_side) {
    r.captured_request_byte = msg.wire_size;
    r.req_tcp_seq = where.tcp_seq;
  } else {
    r.captured_response_byte = msg.wire_size;
    r.resp_tcp_seq = where.tcp_seq;
  }
  r.f = std::move(msg.fields);
}

void mergeResponse(l7::Record& request, l7::Record&& response) {
  l7::L7Fields& q = request.f;
  l7::L7Fields& a = response.f;
  request.type = l7::RecordType::kSession;
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
  for (l7::Attribute& attr : a.attributes) {
    const bool known = std::any_of(q.attributes.begin(), q.attributes.end(),
                                   [&](const l7::Attribute& x) { return x.name == attr.name; });
    if (!known) q.attributes.push_back(std::move(attr));
  }
}

}  // namespace l7h
