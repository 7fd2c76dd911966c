// How a decoded message becomes an l7_flow_log record, and how a request and
// its response merge into one session record (spec/l7_flow_log.md,
// "Sessions"). Kept apart from the connection driver so the rules are in one
// readable place and unit-testable without any capture.
#pragma once

#include <string>

#include "capture/stream_events.h"
#include "l7/decoder.h"
#include "l7/merge.h"
#include "l7/record.h"

namespace l7h {

// How the session told which side is the client (the SYN sender, a probe
// that knows requests from answers, the protocol's well-known port, or, for
// protocols whose two sides open alike, whoever spoke first).
enum class ClientRule : uint8_t { kHandshake, kProbe, kPort, kFirstSpeaker };

// The connection columns every record of one TCP connection shares.
struct FlowColumns {
  uint64_t flow_id = 0;
  Endpoint client;
  Endpoint server;
  const l7::DecoderInfo* decoder = nullptr;
  ClientRule client_rule = ClientRule::kHandshake;
  // Text of the two addresses, made once per connection (not per record).
  std::string client_ip_text;
  std::string server_ip_text;
};

// Where and when a message started on the wire.
struct MessagePlacement {
  l7::Direction direction = l7::Direction::kToServer;
  int64_t ts_us = 0;
  uint32_t tcp_seq = 0;
};

// A record for one message on its own: type 0 for a request (until its
// response arrives), 1 for a response, 2 for a one-way message.
// Fills `r`, a default-constructed record, in place (so a pending request
// can be built inside its map node instead of being moved there).
void recordFromMessage(const FlowColumns& flow, const MessagePlacement& where, l7::Message&& msg, l7::Record& r);
inline l7::Record recordFromMessage(const FlowColumns& flow, const MessagePlacement& where, l7::Message&& msg) {
  l7::Record r;
  recordFromMessage(flow, where, std::move(msg), r);
  return r;
}

// The default merge of a request and its response (l7/merge.h); a decoder
// may supply its own (DecoderInfo::merge).
using l7::mergeResponse;

}  // namespace l7h
