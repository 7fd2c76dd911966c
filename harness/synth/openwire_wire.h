// OpenWire writer for the synthesizer, the tests and the round-trip fuzz
// target: a command model marshalled as ActiveMQ's OpenWireFormat does
// (tight or loose, size prefix or not, the marshal cache), walking the
// same field tables the decoder reads (parsers/openwire/openwire_schema.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "openwire/openwire_codec.h"
#include "openwire/openwire_schema.h"

namespace l7::openwire::wire {

struct Destination {
  uint8_t type = kQueueType;  // 100 queue, 101 topic, 102 temp queue, 103 temp topic
  std::string name;
};

struct Command {
  uint8_t type = kTextMessageType;
  uint32_t command_id = 0;
  bool response_required = false;
  uint32_t correlation_id = 0;  // Response family
  bool has_destination = false;
  Destination destination;
  std::string jms_correlation_id;                               // "" = null
  std::vector<std::pair<std::string, std::string>> properties;  // string-valued message properties
  std::string broker_url;                                       // "" = null
  bool has_exception = false;
  std::string exception_class, exception_message;
  std::shared_ptr<Command> message;  // MessageDispatch's message
  uint64_t long_value = 0;           // every long field (tight sizes: 0, 2, 4, 8 bytes)
  std::string filler;                // every other string field ("" = null)
};

// One direction's marshal cache as the sender keeps it: objects by value,
// indexes handed out in turn and reused (evicting) past CacheSize.
struct SenderCache {
  std::map<std::string, uint32_t> index_of;
  std::vector<std::string> key_at;
  uint32_t next = 0;
};

class Writer {
 public:
  Writer(const WireSettings& s, SenderCache& cache) : s_(s), cache_(cache) {}

  // The whole command as written to the socket.
  std::string command(const Command& c) {
    bits_.clear();
    data_.clear();
    data_.push_back(static_cast<char>(c.type));
    const size_t body_at = data_.size();
    fields(c.type, c, /*top=*/true);
    std::string body = data_.substr(0, body_at);
    if (s_.tight) body += boolStream();
    body += data_.substr(body_at);
    if (s_.size_prefix_disabled) return body;
    return be(body.size(), 4) + body;
  }

  static std::string be(uint64_t v, int n) {
    std::string out;
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return out;
  }
  static std::string utf(std::string_view s) {
    std::string out = be(s.size(), 2);
    out.append(s);  // not be() + std::string(s): GCC 12 warns falsely (-Wrestrict) on string&& + string&&
    return out;
  }

  // MarshallingSupport's primitive map of strings.
  static std::string stringMap(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out = be(entries.size(), 4);
    for (const auto& [k, v] : entries) out += utf(k) + "\x09" + utf(v);
    return out;
  }

 private:
  void flag(bool v) {
    if (s_.tight) {
      bits_.push_back(v);
    } else {
      data_.push_back(v ? 1 : 0);
    }
  }
  std::string boolStream() const {
    const size_t n = (bits_.size() + 7) / 8;
    std::string out;
    if (n < 64) {
      out.push_back(static_cast<char>(n));
    } else if (n < 256) {
      out.push_back('\xC0');
      out.push_back(static_cast<char>(n));
    } else {
      out.push_back('\x80');
      out.append(be(n, 2));
    }
    std::string bytes(n, '\0');
    for (size_t i = 0; i < bits_.size(); ++i) {
      if (bits_[i]) bytes[i / 8] = static_cast<char>(bytes[i / 8] | (1 << (i % 8)));
    }
    return out + bytes;
  }
  void string(std::string_view v) {
    flag(!v.empty());
    if (v.empty()) return;
    if (s_.tight) {
      bool ascii = true;
      for (char ch : v) ascii = ascii && ch >= 1 && static_cast<unsigned char>(ch) <= 0x7F;
      flag(ascii);
    }
    data_ += utf(v);
  }
  void longValue(uint64_t v) {
    if (!s_.tight) {
      data_ += be(v, 8);
      return;
    }
    if (v == 0) {
      flag(false), flag(false);
    } else if (v < 0x10000) {
      flag(false), flag(true), data_ += be(v, 2);
    } else if (v < 0x100000000ull) {
      flag(true), flag(false), data_ += be(v, 4);
    } else {
      flag(true), flag(true), data_ += be(v, 8);
    }
  }
  void nestedDestination(const Destination* d) {
    flag(d != nullptr);
    if (d == nullptr) return;
    data_.push_back(static_cast<char>(d->type));
    string(d->name);
  }
  void nestedCommand(const Command* c) {
    flag(c != nullptr);
    if (c == nullptr) return;
    data_.push_back(static_cast<char>(c->type));
    if (s_.tight && typeInfo(c->type).marshall_aware) flag(false);  // no cached marshalled form
    fields(c->type, *c, /*top=*/false);
  }
  void cachedDestination(const Destination* d) {
    if (!s_.cache) return nestedDestination(d);
    const std::string key = d == nullptr ? std::string("null") : std::to_string(d->type) + ":" + d->name;
    auto it = cache_.index_of.find(key);
    flag(it == cache_.index_of.end());
    if (it != cache_.index_of.end()) {
      data_ += be(it->second, 2);
      return;
    }
    const uint32_t index = cache_.next;
    cache_.next = s_.cache_size == 0 ? 0 : (cache_.next + 1) % s_.cache_size;
    if (cache_.key_at.size() <= index) cache_.key_at.resize(index + 1);
    if (!cache_.key_at[index].empty()) cache_.index_of.erase(cache_.key_at[index]);
    cache_.key_at[index] = key;
    cache_.index_of[key] = index;
    data_ += be(index, 2);
    nestedDestination(d);
  }
  void throwable(const Command& c, bool present) {
    flag(present);
    if (!present) return;
    string(c.exception_class);
    string(c.exception_message);
    if (s_.stack_trace) {
      data_ += be(0, 2);
      flag(false);  // no cause
    }
  }
  void byteArray(const std::string* v) {
    flag(v != nullptr);
    if (v != nullptr) data_ += be(v->size(), 4) + *v;
  }

  void fields(uint8_t type, const Command& c, bool top) {
    for (const Field& f : typeInfo(type).fields) {
      if (!marshalledIn(f, s_.version)) continue;
      switch (f.kind) {
        case FieldKind::kByte: data_.push_back('\x04'); break;
        case FieldKind::kMagic: data_ += "ActiveMQ"; break;
        case FieldKind::kInt:
          data_ += be(f.role == FieldRole::kCommandId       ? c.command_id
                      : f.role == FieldRole::kCorrelationId ? c.correlation_id
                      : f.role == FieldRole::kVersion       ? s_.version
                                                            : 7,
                      4);
          break;
        case FieldKind::kBool: flag(f.role == FieldRole::kResponseRequired && c.response_required); break;
        case FieldKind::kLong: longValue(c.long_value); break;
        case FieldKind::kString:
          string(f.role == FieldRole::kBrokerUrl          ? c.broker_url
                 : f.role == FieldRole::kJmsCorrelationId ? c.jms_correlation_id
                                                          : c.filler);
          break;
        case FieldKind::kByteArray: {
          if (f.role == FieldRole::kProperties && !c.properties.empty()) {
            const std::string map = stringMap(c.properties);
            byteArray(&map);
          } else {
            byteArray(nullptr);
          }
          break;
        }
        case FieldKind::kNested:
          if (f.role == FieldRole::kMessage) {
            nestedCommand(c.message.get());
          } else {
            nestedDestination(f.role == FieldRole::kDestination && c.has_destination ? &c.destination : nullptr);
          }
          break;
        case FieldKind::kCached:
          cachedDestination(f.role == FieldRole::kDestination && c.has_destination ? &c.destination : nullptr);
          break;
        case FieldKind::kNestedArray: flag(false); break;
        case FieldKind::kThrowable: throwable(c, f.role == FieldRole::kException && c.has_exception && top); break;
      }
    }
  }

  const WireSettings& s_;
  SenderCache& cache_;
  std::vector<bool> bits_;
  std::string data_;
};

// A WireFormatInfo as every side sends it first: loose and size-prefixed.
inline std::string wireFormatInfo(uint32_t version, const WireSettings& wanted, uint32_t max_frame = 0) {
  std::string props = Writer::be(6 + (max_frame ? 1 : 0), 4);
  auto flagEntry = [&](std::string_view k, bool v) { props += Writer::utf(k) + "\x01" + std::string(1, v ? 1 : 0); };
  flagEntry("TightEncodingEnabled", wanted.tight);
  flagEntry("SizePrefixDisabled", wanted.size_prefix_disabled);
  flagEntry("CacheEnabled", wanted.cache);
  props += Writer::utf("CacheSize") + "\x05" + Writer::be(wanted.cache_size, 4);
  flagEntry("StackTraceEnabled", wanted.stack_trace);
  props += Writer::utf("MaxInactivityDuration") + "\x06" + Writer::be(30000, 8);
  if (max_frame) props += Writer::utf("MaxFrameSize") + "\x06" + Writer::be(max_frame, 8);
  const std::string body = std::string("\x01") + "ActiveMQ" + Writer::be(version, 4) + "\x01" +
                           Writer::be(props.size(), 4) + props;
  return Writer::be(body.size(), 4) + body;
}

}  // namespace l7::openwire::wire
