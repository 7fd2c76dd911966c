#include "session/record_merge.h"


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

}  // namespace l7h
