// MQTT control packets, wire level: fixed header, packet names, reason
// codes (MQTT 3.1 / 3.1.1 (OASIS 2014) and 5.0 (OASIS 2019)).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "l7/byte_reader.h"
#include "l7/record.h"

namespace l7::mqtt {

enum class PacketType : uint8_t {
  kConnect = 1, kConnack, kPublish, kPuback, kPubrec, kPubrel, kPubcomp,
  kSubscribe, kSuback, kUnsubscribe, kUnsuback, kPingreq, kPingresp, kDisconnect, kAuth,
};

std::string_view packetName(PacketType t);

struct FixedHeader {
  PacketType type;
  uint8_t flags;
  uint32_t remaining = 0;   // remaining length
  uint32_t header_size = 0; // 1 + varint bytes
};

enum class HeaderResult { kOk, kNeedMore, kInvalid };

// Parses and validates a fixed header: type 1..15, the flags each type
// requires (PUBLISH: QoS 3 is invalid), a remaining-length varint of at
// most 4 bytes. AUTH is accepted only when `allow_auth` (MQTT 5).
HeaderResult parseFixedHeader(Bytes data, bool allow_auth, FixedHeader& out);

// CONNACK return codes of MQTT 3.1/3.1.1 and reason codes of MQTT 5, with
// the status the mapping table gives them (0 ok, 3 server, 4 client).
struct ReasonInfo {
  std::string_view name;
  ResponseStatus status;
};
ReasonInfo connackV3(uint8_t code);
ReasonInfo reasonV5(uint8_t code);

// Protocol level → version string ("3.1", "3.1.1", "5.0").
std::string_view versionName(uint8_t level);

}  // namespace l7::mqtt
