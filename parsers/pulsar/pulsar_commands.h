// Pulsar's BaseCommand types (PulsarApi.proto): for each, what the decoder
// needs to know, in one table. Field numbers are the schema's; each
// command's sub-message is BaseCommand's field numbered like its type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace l7::pulsar {

enum class Kind : uint8_t { kRequest, kResponse, kOneWay };

// How a request finds its answer.
enum class Pairing : uint8_t {
  kNone,       // one-way
  kRequestId,  // the request_id field
  kSend,       // SEND with SEND_RECEIPT / SEND_ERROR: (producer_id, sequence_id)
  kConnect,    // CONNECT / CONNECTED, by order
  kPing,       // PING / PONG, by order, per initiating side
  kAuth,       // AUTH_CHALLENGE / AUTH_RESPONSE, by order
};

// Which id map names a command's topic.
enum class Owner : uint8_t { kNone, kProducer, kConsumer, kByResourceType };

struct CommandSpec {
  uint8_t type = 0;
  std::string_view name;
  Kind kind = Kind::kOneWay;
  Pairing pairing = Pairing::kNone;
  uint8_t request_id = 0;  // field number of request_id, 0: none
  uint8_t topic = 0;       // field number of a topic string, 0: none
  Owner owner = Owner::kNone;
  uint8_t owner_id = 0;    // field number of the producer or consumer id
  bool learns = false;     // PRODUCER, SUBSCRIBE: owner_id -> topic
  uint8_t error = 0;       // field number of a ServerError, 0: none
  uint8_t message = 0;     // field number of its text
  uint8_t message_id = 0;  // field number of a MessageIdData
  uint32_t required_varints = 0;  // bit n: required varint field n
  uint32_t required_bytes = 0;    // bit n: required length-delimited field n
};

// The spec of `type`, or nullptr for a type PulsarApi.proto does not define.
const CommandSpec* findCommand(uint64_t type) noexcept;

// request_type of a type: its enum name, or "TYPE_<n>" when unknown.
std::string commandName(uint64_t type);

// ServerError enum name ("" when out of the enum).
std::string_view serverErrorName(uint64_t code) noexcept;

namespace type {
inline constexpr uint8_t kConnect = 2, kConnected = 3, kSubscribe = 4, kProducer = 5, kSend = 6, kMessage = 9,
                         kClose = 15, kCloseConsumer = 16, kPing = 18, kPong = 19, kTopicMigrated = 68;
}

}  // namespace l7::pulsar
