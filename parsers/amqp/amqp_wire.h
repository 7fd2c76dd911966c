// AMQP 0-9-1 wire format: frames, the method table, field tables, content
// header properties (README.md beside this file has the spec links).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "l7/byte_reader.h"

namespace l7::amqp {

enum class FrameType : uint8_t { kMethod = 1, kHeader = 2, kBody = 3, kHeartbeat = 8 };

constexpr size_t kFrameHeaderBytes = 7;  // type u8, channel u16, size u32
constexpr uint8_t kFrameEnd = 0xCE;
constexpr size_t kProtocolHeaderBytes = 8;  // "AMQP" and four octets
// The spec's frame-min-size: a peer may always send frames this large.
constexpr uint32_t kFrameMinSize = 4096;

struct FrameHeader {
  uint8_t type = 0;
  uint16_t channel = 0;
  uint32_t size = 0;  // payload bytes
  uint64_t total() const { return uint64_t{size} + kFrameHeaderBytes + 1; }
};

bool knownFrameType(uint8_t type);
// Reads the 7-byte frame header; false when fewer bytes are there.
bool readFrameHeader(Bytes b, FrameHeader& h);

// How a method takes part in pairing (deepflow-reference.md §4.3).
enum class MethodRole : uint8_t {
  kRequest,   // synchronous: its -Ok answers it on the same channel
  kResponse,  // answers the other side's pending request on its channel
  kOneWay,    // no answer (the table's one-way list, and asynchronous methods)
};

// Which side may send a method: the spec's "chassis" rules (used by the
// probe of a frame chain to name the client).
enum class Sender : uint8_t { kClient, kServer, kBoth };

struct MethodInfo {
  uint16_t class_id = 0;
  uint16_t method_id = 0;
  std::string_view name;  // "Class.Method"
  MethodRole role = MethodRole::kOneWay;
  Sender sender = Sender::kBoth;
  bool carries_content = false;  // Basic.Publish, Return, Deliver, GetOk
};

// nullptr for a class/method pair 0-9-1 (with RabbitMQ's extensions) lacks.
const MethodInfo* findMethod(uint16_t class_id, uint16_t method_id);
std::string_view className(uint16_t class_id);  // "" when unknown

// "AMQP" + 4 octets: which protocol it names, in that protocol's notation.
struct ProtocolHeader {
  bool amqp091 = false;  // "AMQP" 0 0 9 1
  std::string version;   // "0-9-1", "1.0", "1.0 SASL", "0-9", "0-8", or "AMQP a.b.c.d"
};
bool isProtocolHeaderStart(Bytes b);  // starts with "AMQP" (or a prefix of it, when shorter)
ProtocolHeader readProtocolHeader(Bytes eight);

// Bounds on field tables (tables and arrays nest).
struct TableLimits {
  uint32_t max_depth = 8;
  uint32_t max_entries = 10000;  // values of every nested table and array together
};

// Walks a field table (its u32 length first), checking every value's type
// and size; `on_string` sees each top-level string value by name.
// Returns nullptr or why the table is malformed.
template <typename OnString>
const char* readFieldTable(ByteReader& r, const TableLimits& limits, OnString&& on_string);

// Non-template core: the callback as a function pointer and a context.
using StringEntryFn = void (*)(void* ctx, std::string_view name, std::string_view value);
const char* readFieldTableImpl(ByteReader& r, const TableLimits& limits, StringEntryFn fn, void* ctx);

template <typename OnString>
const char* readFieldTable(ByteReader& r, const TableLimits& limits, OnString&& on_string) {
  auto thunk = [](void* ctx, std::string_view name, std::string_view value) {
    (*static_cast<std::remove_reference_t<OnString>*>(ctx))(name, value);
  };
  return readFieldTableImpl(r, limits, thunk, &on_string);
}

bool readShortStr(ByteReader& r, std::string_view& out);
bool readLongStr(ByteReader& r, std::string_view& out);

// Reply codes (0-9-1 constants) → DeepFlow's status (deepflow-reference.md §4.5).
struct ReplyInfo {
  uint8_t status;  // l7::ResponseStatus value
  std::string_view name;
};
ReplyInfo replyInfo(uint16_t code);

}  // namespace l7::amqp
