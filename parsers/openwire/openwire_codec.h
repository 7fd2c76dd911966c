// OpenWire command decoding: one command's bytes (from its type byte) in
// tight or loose encoding, with the marshal cache, into the facts the
// decoder records. The walk allocates only its list of the cache entries
// the command sends by value (applied when it is whole) and the cache's
// copies of destination names; every count and depth the wire declares is
// capped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "l7/byte_reader.h"
#include "openwire/openwire_schema.h"

namespace l7::openwire {

// The wire format one direction is read with.
struct WireSettings {
  bool tight = false;
  bool size_prefix_disabled = false;
  bool cache = false;
  uint32_t cache_size = 0;
  bool stack_trace = false;
  uint32_t version = kMaxVersion;
};

// Before a side's WireFormatInfo: loose, size-prefixed, no cache (how
// OpenWireFormat starts, and how every WireFormatInfo is sent).
inline constexpr WireSettings kInitialSettings{};
// ActiveMQ's defaults, for a connection joined after its WireFormatInfos.
inline constexpr WireSettings kActiveMqDefaults{true, false, true, 1024, true, kMaxVersion};

// Caps (the wire's counts are signed shorts and ints; these bound the work).
inline constexpr uint32_t kMaxCacheSize = 32767;      // a cache index is a short
inline constexpr size_t kMaxCacheBytes = 1u << 20;    // destination names kept per direction
inline constexpr int kMaxDepth = 16;                  // nested objects and exception causes
inline constexpr uint32_t kFuel = 200000;             // field reads per command

// The unmarshal cache of one direction: index -> the cached object's
// destination name ("" for other objects). Bounded by CacheSize, and by
// kMaxCacheBytes of names (past it, names are kept empty).
class MarshalCache {
 public:
  void reset(uint32_t size);
  uint32_t size() const { return size_; }
  void put(uint32_t index, std::string_view name);
  // False when the index was never filled.
  bool get(uint32_t index, std::string_view& name) const;

 private:
  uint32_t size_ = 0;
  size_t bytes_ = 0;
  std::vector<std::string> names_;
  std::vector<bool> set_;
};

enum class DecodeStatus : uint8_t {
  kOk,
  kTruncated,    // the data ends inside the command (`need` bytes from its start would do)
  kMalformed,    // the bytes cannot be this command
  kUnknownType,  // the type byte is no command this decoder knows
};

// What the decoder records from one command.
struct CommandFacts {
  uint8_t type = 0;
  std::string_view name;
  size_t size = 0;   // bytes from the type byte through the last field
  uint64_t need = 0;  // kTruncated: bytes from the type byte needed
  std::string_view error;  // static text: why not kOk
  bool has_command_id = false;
  uint32_t command_id = 0;
  bool response_required = false;
  bool has_correlation_id = false;
  uint32_t correlation_id = 0;
  bool has_destination = false;
  std::string destination;
  std::string jms_correlation_id;
  std::string broker_url;
  std::string exception;  // "class: message"
  uint32_t version = 0;   // WireFormatInfo
  Bytes properties;       // Message / WireFormatInfo marshalled properties (a view)
  bool has_properties = false;
  uint32_t cache_misses = 0;  // references to cache entries never filled
  uint32_t fields_read = 0;   // the walk's cost (kFuel at most)
};

// Decodes the command starting at data[0] (its type byte). `cache` is
// filled as the command fills it unless `dry_run` (the resynchronization's
// look-ahead reads it but changes nothing).
DecodeStatus decodeCommand(Bytes data, const WireSettings& settings, MarshalCache& cache, bool dry_run,
                           CommandFacts& facts);

// WireFormatInfo's properties map, read as a map.
struct WireFormatOptions {
  bool tight = false;
  bool size_prefix_disabled = false;
  bool cache = false;
  uint32_t cache_size = 0;
  bool stack_trace = false;
  int64_t max_frame_size = 0;
  int64_t max_inactivity_duration = 0;
};

// What ActiveMQ's clients and brokers ask for by default.
inline constexpr WireFormatOptions kActiveMqOptions{true, false, true, 1024, true, 0, 30000};

// One value of a marshalled primitive map (MarshallingSupport's types).
struct MapValue {
  uint8_t type = 0;  // 1 boolean, 2 byte, 3 char, 4 short, 5 int, 6 long, 7 double, 8 float, 9 string, ...
  int64_t integer = 0;
  std::string_view text;  // strings (9, 13) and byte arrays (10)
};

// Calls `visit(name, value)` for each top-level entry of a marshalled
// primitive map (nested maps and lists are walked and passed over). False
// when the map is malformed or exceeds `max_entries` or the nesting cap;
// entries before the fault have been visited.
template <typename Visit>
bool forEachMapEntry(Bytes map, uint32_t max_entries, Visit&& visit);

bool parseWireFormatOptions(Bytes properties, uint32_t max_entries, WireFormatOptions& out);

// The settings both sides read after negotiation: each flag both sides'
// AND, the smaller cache size and version.
WireSettings negotiate(const WireFormatOptions& a, uint32_t version_a, const WireFormatOptions& b, uint32_t version_b);

namespace detail {
bool readMapValue(ByteReader& r, uint8_t type, MapValue& v, int depth, uint32_t& budget);
bool readUtf(ByteReader& r, std::string_view& s);
}  // namespace detail

template <typename Visit>
bool forEachMapEntry(Bytes map, uint32_t max_entries, Visit&& visit) {
  ByteReader r(map);
  int32_t count = 0;
  if (!r.i32be(count)) return false;
  if (count < 0) return count == -1;  // a null map
  if (static_cast<uint32_t>(count) > max_entries) return false;
  uint32_t budget = max_entries;
  for (int32_t i = 0; i < count; ++i) {
    std::string_view name;
    uint8_t type = 0;
    MapValue v;
    if (!detail::readUtf(r, name) || !r.u8(type) || !detail::readMapValue(r, type, v, 0, budget)) return false;
    visit(name, v);
  }
  return true;
}

}  // namespace l7::openwire
