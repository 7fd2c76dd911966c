// OpenWire's data structures as data: each type's marshalled fields in wire
// order, with the version that added them. The decoder walks these lists in
// tight or loose encoding; the synthesizer writes the same lists, so both
// sides of the property read one description of the grammar.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace l7::openwire {

// How a field is marshalled (BaseDataStreamMarshaller's primitives).
enum class FieldKind : uint8_t {
  kByte,         // 1 byte
  kInt,          // 4 bytes
  kBool,         // tight: one bit of the boolean stream; loose: 1 byte
  kLong,         // tight: 0, 2, 4 or 8 bytes chosen by two bits; loose: 8 bytes
  kString,       // present bit (+ ascii bit); u16 length + bytes
  kByteArray,    // present bit; u32 length + bytes (also ByteSequence)
  kNested,       // present bit; type byte + that type's fields
  kCached,       // the marshal cache's form of kNested when the cache is on
  kNestedArray,  // present bit; u16 count of kNested
  kThrowable,    // present bit; class, message (+ stack trace and cause)
  kMagic,        // WireFormatInfo's 8 magic bytes
};

// What the decoder keeps from a field.
enum class FieldRole : uint8_t {
  kNone,
  kCommandId,         // BaseCommand.commandId
  kResponseRequired,  // BaseCommand.responseRequired
  kDestination,       // the command's destination
  kPhysicalName,      // ActiveMQDestination.physicalName
  kJmsCorrelationId,  // Message.correlationId
  kProperties,        // Message.marshalledProperties
  kCorrelationId,     // Response.correlationId
  kBrokerUrl,         // BrokerInfo.brokerURL
  kException,         // ExceptionResponse / ConnectionError / MessageAck.poisonCause
  kMessage,           // MessageDispatch.message (its fields count as the dispatch's)
  kVersion,           // WireFormatInfo.version
};

struct Field {
  FieldKind kind;
  FieldRole role = FieldRole::kNone;
  uint8_t since = 1;    // first OpenWire version that marshals it
  uint8_t until = 255;  // last one (a field a later version dropped or moved)
};

// Whether a negotiated version marshals the field.
constexpr bool marshalledIn(const Field& f, uint32_t version) noexcept {
  return f.since <= version && version <= f.until;
}

// How a top-level command of the type is recorded.
enum class Category : uint8_t {
  kNotACommand,  // a data structure only nested (ids, destinations): a top-level one is malformed
  kRequestLike,  // a request when responseRequired, else one-way
  kResponse,     // Response and its subclasses
  kWireFormat,   // WireFormatInfo (its own layout)
};

struct TypeInfo {
  std::string_view name;  // "" for an unknown type
  Category category = Category::kNotACommand;
  bool marshall_aware = false;  // tight nested form carries one more boolean
  std::span<const Field> fields;
};

inline constexpr uint8_t kWireFormatInfoType = 1;
inline constexpr uint8_t kBrokerInfoType = 2;
inline constexpr uint8_t kMessageDispatchType = 21;
inline constexpr uint8_t kTextMessageType = 28;
inline constexpr uint8_t kResponseType = 30;
inline constexpr uint8_t kExceptionResponseType = 31;
inline constexpr uint8_t kQueueType = 100;
inline constexpr uint8_t kTopicType = 101;
inline constexpr uint8_t kTempQueueType = 102;
inline constexpr uint8_t kTempTopicType = 103;
inline constexpr uint8_t kProducerIdType = 123;
inline constexpr uint8_t kMessageIdType = 110;

// The table entry of a type byte (name "" when the type is unknown).
const TypeInfo& typeInfo(uint8_t type) noexcept;

// The versions the tables describe and the decoder claims.
inline constexpr uint32_t kMinVersion = 1;
inline constexpr uint32_t kMaxVersion = 12;

}  // namespace l7::openwire
