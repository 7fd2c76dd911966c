#include "mqtt/mqtt_wire.h"

namespace l7::mqtt {

std::string_view packetName(PacketType t) {
  switch (t) {
    case PacketType::kConnect: return "CONNECT";
    case PacketType::kConnack: return "CONNACK";
    case PacketType::kPublish: return "PUBLISH";
    case PacketType::kPuback: return "PUBACK";
    case PacketType::kPubrec: return "PUBREC";
    case PacketType::kPubrel: return "PUBREL";
    case PacketType::kPubcomp: return "PUBCOMP";
    case PacketType::kSubscribe: return "SUBSCRIBE";
    case PacketType::kSuback: return "SUBACK";
    case PacketType::kUnsubscribe: return "UNSUBSCRIBE";
    case PacketType::kUnsuback: return "UNSUBACK";
    case PacketType::kPingreq: return "PINGREQ";
    case PacketType::kPingresp: return "PINGRESP";
    case PacketType::kDisconnect: return "DISCONNECT";
    case PacketType::kAuth: return "AUTH";
  }
  return "";
}

HeaderResult parseFixedHeader(Bytes data, bool allow_auth, FixedHeader& out) {
  if (data.empty()) return HeaderResult::kNeedMore;
  const uint8_t first = data[0];
  const uint8_t type = first >> 4;
  const uint8_t flags = first & 0x0F;
  if (type == 0 || (type == 15 && !allow_auth)) return HeaderResult::kInvalid;
  const auto t = static_cast<PacketType>(type);
  // MQTT 3.1.1 §2.2.2 / 5.0 §2.1.3: fixed flags per type.
  if (t == PacketType::kPublish) {
    if (((flags >> 1) & 3) == 3) return HeaderResult::kInvalid;  // QoS 3
  } else if (t == PacketType::kPubrel || t == PacketType::kSubscribe || t == PacketType::kUnsubscribe) {
    if (flags != 0x2) return HeaderResult::kInvalid;
  } else if (flags != 0) {
    return HeaderResult::kInvalid;
  }
  uint32_t value = 0;
  size_t i = 1;
  for (;; ++i) {
    if (i > 4) return HeaderResult::kInvalid;  // at most 4 length bytes
    if (i >= data.size()) return HeaderResult::kNeedMore;
    const uint8_t b = data[i];
    value |= static_cast<uint32_t>(b & 0x7F) << (7 * (i - 1));
    if ((b & 0x80) == 0) break;
  }
  out.type = t;
  out.flags = flags;
  out.remaining = value;
  out.header_size = static_cast<uint32_t>(i + 1);
  // Packets whose remaining length the specification fixes.
  switch (t) {
    case PacketType::kPingreq:
    case PacketType::kPingresp:
      if (value != 0) return HeaderResult::kInvalid;
      break;
    case PacketType::kConnack:
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
    case PacketType::kUnsuback:
      if (value < 2) return HeaderResult::kInvalid;
      break;
    case PacketType::kConnect:
      if (value < 10) return HeaderResult::kInvalid;
      break;
    case PacketType::kSubscribe:
    case PacketType::kSuback:
    case PacketType::kUnsubscribe:
      if (value < 3) return HeaderResult::kInvalid;
      break;
    case PacketType::kPublish:
      if (value < 2) return HeaderResult::kInvalid;
      break;
    default:
      break;
  }
  return HeaderResult::kOk;
}

ReasonInfo connackV3(uint8_t code) {
  switch (code) {
    case 0: return {"", ResponseStatus::kOk};
    case 1: return {"unacceptable protocol version", ResponseStatus::kClientError};
    case 2: return {"identifier rejected", ResponseStatus::kClientError};
    case 3: return {"server unavailable", ResponseStatus::kServerError};
    case 4: return {"bad user name or password", ResponseStatus::kClientError};
    case 5: return {"not authorized", ResponseStatus::kClientError};
    default: return {"reserved return code", ResponseStatus::kParseFailed};
  }
}

// MQTT 5.0 §2.4 reason codes. Below 0x80 is success; from 0x80 the failure
// is the client's (what it sent or is allowed) or the server's (its state,
// limits or implementation).
ReasonInfo reasonV5(uint8_t code) {
  constexpr auto kOk = ResponseStatus::kOk;
  constexpr auto kClient = ResponseStatus::kClientError;
  constexpr auto kServer = ResponseStatus::kServerError;
  switch (code) {
    case 0x00: return {"", kOk};
    case 0x01: return {"Granted QoS 1", kOk};
    case 0x02: return {"Granted QoS 2", kOk};
    case 0x04: return {"Disconnect with Will Message", kOk};
    case 0x10: return {"No matching subscribers", kOk};
    case 0x11: return {"No subscription existed", kOk};
    case 0x18: return {"Continue authentication", kOk};
    case 0x19: return {"Re-authenticate", kOk};
    case 0x80: return {"Unspecified error", kServer};
    case 0x81: return {"Malformed Packet", kClient};
    case 0x82: return {"Protocol Error", kClient};
    case 0x83: return {"Implementation specific error", kServer};
    case 0x84: return {"Unsupported Protocol Version", kClient};
    case 0x85: return {"Client Identifier not valid", kClient};
    case 0x86: return {"Bad User Name or Password", kClient};
    case 0x87: return {"Not authorized", kClient};
    case 0x88: return {"Server unavailable", kServer};
    case 0x89: return {"Server busy", kServer};
    case 0x8A: return {"Banned", kClient};
    case 0x8B: return {"Server shutting down", kServer};
    case 0x8C: return {"Bad authentication method", kClient};
    case 0x8D: return {"Keep Alive timeout", kClient};
    case 0x8E: return {"Session taken over", kClient};
    case 0x8F: return {"Topic Filter invalid", kClient};
    case 0x90: return {"Topic Name invalid", kClient};
    case 0x91: return {"Packet Identifier in use", kClient};
    case 0x92: return {"Packet Identifier not found", kClient};
    case 0x93: return {"Receive Maximum exceeded", kClient};
    case 0x94: return {"Topic Alias invalid", kClient};
    case 0x95: return {"Packet too large", kClient};
    case 0x96: return {"Message rate too high", kClient};
    case 0x97: return {"Quota exceeded", kServer};
    case 0x98: return {"Administrative action", kServer};
    case 0x99: return {"Payload format invalid", kClient};
    case 0x9A: return {"Retain not supported", kServer};
    case 0x9B: return {"QoS not supported", kServer};
    case 0x9C: return {"Use another server", kServer};
    case 0x9D: return {"Server moved", kServer};
    case 0x9E: return {"Shared Subscriptions not supported", kServer};
    case 0x9F: return {"Connection rate exceeded", kClient};
    case 0xA0: return {"Maximum connect time", kServer};
    case 0xA1: return {"Subscription Identifiers not supported", kServer};
    case 0xA2: return {"Wildcard Subscriptions not supported", kServer};
    default: return {"unknown reason code", code >= 0x80 ? kServer : kOk};
  }
}

std::string_view versionName(uint8_t level) {
  switch (level) {
    case 3: return "3.1";
    case 4: return "3.1.1";
    case 5: return "5.0";
    default: return "";
  }
}

}  // namespace l7::mqtt
