#include "openwire/openwire_codec.h"

#include <algorithm>
#include <utility>

namespace l7::openwire {

void MarshalCache::reset(uint32_t size) {
  size_ = std::min(size, kMaxCacheSize);
  bytes_ = 0;
  names_.clear();
  set_.clear();
}

void MarshalCache::put(uint32_t index, std::string_view name) {
  if (index >= size_) return;
  // Grown on use: a large CacheSize costs nothing until indexes fill it.
  if (index >= names_.size()) {
    names_.resize(index + 1);
    set_.resize(index + 1, false);
  }
  bytes_ -= names_[index].size();
  if (bytes_ + name.size() > kMaxCacheBytes) name = {};
  names_[index].assign(name);
  bytes_ += name.size();
  set_[index] = true;
}

bool MarshalCache::get(uint32_t index, std::string_view& name) const {
  if (index >= set_.size() || !set_[index]) return false;
  name = names_[index];
  return true;
}

namespace {

// A cursor that tells "ran out" (more bytes could help) from "bad".
class Cursor {
 public:
  explicit Cursor(Bytes d) : d_(d) {}
  bool take(size_t n, Bytes& out) {
    if (n > d_.size() - pos_) {
      need_ = std::max<uint64_t>(need_, uint64_t{pos_} + n);
      return false;
    }
    out = d_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool be(T& v) {
    Bytes b;
    if (!take(sizeof(T), b)) return false;
    T r = 0;
    for (uint8_t x : b) r = static_cast<T>((r << 8) | x);
    v = r;
    return true;
  }
  size_t pos() const { return pos_; }
  uint64_t need() const { return need_; }

 private:
  Bytes d_;
  size_t pos_ = 0;
  uint64_t need_ = 0;
};

// The tight encoding's bits, least significant first in each byte.
struct BoolStream {
  Bytes bits;
  size_t next = 0;
  bool read(bool& v) {
    if (next >= bits.size() * 8) return false;
    v = ((bits[next / 8] >> (next % 8)) & 1) != 0;
    ++next;
    return true;
  }
};

enum class Fail : uint8_t { kNone, kTruncated, kMalformed };

class Walker {
 public:
  Walker(Bytes data, const WireSettings& s, MarshalCache& cache, bool dry_run, CommandFacts& f)
      : c_(data), s_(s), cache_(cache), dry_run_(dry_run), f_(f) {}

  uint32_t fieldsRead() const { return kFuel - fuel_; }

  DecodeStatus run() {
    uint8_t type = 0;
    if (!c_.be(type)) return finish(Fail::kTruncated);
    f_.type = type;
    const TypeInfo& info = typeInfo(type);
    f_.name = info.name;
    if (info.name.empty() || info.category == Category::kNotACommand) {
      f_.error = "unknown command type";
      return DecodeStatus::kUnknownType;
    }
    if (s_.tight && !readBoolStream(bs_)) return finish(fail_);
    std::string_view unused;
    if (!fields(info.fields, 0, /*capture=*/true, unused)) return finish(fail_);
    f_.size = c_.pos();
    // Only a whole command fills the cache: one cut short is walked again
    // from its start, and must find the cache as it was.
    if (!dry_run_) {
      for (const auto& [index, name] : puts_) cache_.put(index, name);
    }
    return DecodeStatus::kOk;
  }

 private:
  DecodeStatus finish(Fail why) {
    if (why == Fail::kTruncated) {
      f_.need = c_.need();
      if (f_.error.empty()) f_.error = "command truncated";
      return DecodeStatus::kTruncated;
    }
    if (f_.error.empty()) f_.error = "malformed command";
    return DecodeStatus::kMalformed;
  }
  bool bad(std::string_view why) {
    f_.error = why;
    fail_ = Fail::kMalformed;
    return false;
  }
  bool cut() {
    fail_ = Fail::kTruncated;
    return false;
  }
  bool spend() {
    if (fuel_ == 0) return bad("command too complex");
    --fuel_;
    return true;
  }

  bool readBoolStream(BoolStream& out) {
    uint8_t b = 0;
    if (!c_.be(b)) return cut();
    size_t len = b;
    if (b == 0xC0) {
      uint8_t l = 0;
      if (!c_.be(l)) return cut();
      len = l;
    } else if (b == 0x80) {
      uint16_t l = 0;
      if (!c_.be(l)) return cut();
      len = l;
    }
    out.next = 0;
    return c_.take(len, out.bits) || cut();
  }
  bool flag(bool& v) {
    if (s_.tight) return bs_.read(v) || bad("boolean stream exhausted");
    uint8_t b = 0;
    if (!c_.be(b)) return cut();
    v = b != 0;
    return true;
  }
  bool skip(size_t n) {
    Bytes b;
    return c_.take(n, b) || cut();
  }
  bool string(std::string_view& out, bool& present) {
    out = {};
    if (!flag(present)) return false;
    if (!present) return true;
    if (s_.tight) {
      bool ascii = false;
      if (!flag(ascii)) return false;
      uint16_t len = 0;
      if (!c_.be(len)) return cut();
      // The ASCII form's length is read as a signed short.
      if (ascii && len >= 0x8000) return bad("negative string length");
      Bytes b;
      if (!c_.take(len, b)) return cut();
      out = asText(b);
      return true;
    }
    uint16_t len = 0;
    Bytes b;
    if (!c_.be(len)) return cut();
    if (!c_.take(len, b)) return cut();
    out = asText(b);
    return true;
  }
  bool longValue() {
    if (!s_.tight) return skip(8);
    bool a = false, b = false;
    if (!flag(a) || !flag(b)) return false;
    return skip(a ? (b ? 8 : 4) : (b ? 2 : 0));
  }
  bool byteArray(Bytes& out, bool& present) {
    if (!flag(present)) return false;
    if (!present) return true;
    int32_t len = 0;
    if (!c_.be(len)) return cut();
    if (len < 0) return bad("negative byte array length");
    return c_.take(static_cast<size_t>(len), out) || cut();
  }
  bool nested(int depth, bool capture, std::string_view& name) {
    name = {};
    bool present = false;
    if (!flag(present)) return false;
    if (!present) return true;
    if (depth >= kMaxDepth) return bad("nesting too deep");
    uint8_t type = 0;
    if (!c_.be(type)) return cut();
    const TypeInfo& info = typeInfo(type);
    if (info.name.empty() || info.category == Category::kWireFormat) return bad("unknown nested type");
    if (s_.tight && info.marshall_aware) {
      // A cached marshalled form: its own size, type and boolean stream.
      bool cached_form = false;
      if (!flag(cached_form)) return false;
      if (cached_form) {
        uint32_t size = 0;
        uint8_t again = 0;
        BoolStream inner;
        if (!c_.be(size) || !c_.be(again)) return cut();
        if (!readBoolStream(inner)) return false;
        std::swap(bs_, inner);
        const bool ok = fields(info.fields, depth + 1, capture, name);
        std::swap(bs_, inner);
        return ok;
      }
    }
    return fields(info.fields, depth + 1, capture, name);
  }
  bool cached(int depth, bool capture, std::string_view& name) {
    if (!s_.cache) return nested(depth, capture, name);
    bool by_value = false;
    uint16_t raw = 0;
    if (!flag(by_value)) return false;
    if (!c_.be(raw)) return cut();
    if (raw >= 0x8000 || raw >= s_.cache_size) return bad("cache index out of range");
    if (by_value) {
      if (!nested(depth, capture, name)) return false;
      puts_.emplace_back(raw, name);
      return true;
    }
    // This command's own entries first, the latest of an index winning.
    for (auto it = puts_.rbegin(); it != puts_.rend(); ++it) {
      if (it->first == raw) {
        name = it->second;
        return true;
      }
    }
    if (!cache_.get(raw, name)) {
      name = {};
      ++f_.cache_misses;
    }
    return true;
  }
  bool throwable(int depth, bool capture) {
    bool present = false;
    if (!flag(present)) return false;
    if (!present) return true;
    if (depth >= kMaxDepth) return bad("exception causes nested too deep");
    std::string_view cls, msg;
    bool p1 = false, p2 = false;
    if (!string(cls, p1) || !string(msg, p2)) return false;
    if (capture && f_.exception.empty()) {
      f_.exception.assign(cls);
      if (p2) f_.exception.append(": ").append(msg);
    }
    if (!s_.stack_trace) return true;
    uint16_t count = 0;
    if (!c_.be(count)) return cut();
    if (count >= 0x8000) return bad("negative stack trace length");
    for (uint16_t i = 0; i < count; ++i) {
      std::string_view unused;
      bool p = false;
      if (!spend() || !string(unused, p) || !string(unused, p) || !string(unused, p) || !skip(4)) return false;
    }
    return throwable(depth + 1, false);
  }

  bool fields(std::span<const Field> list, int depth, bool capture, std::string_view& name) {
    for (const Field& field : list) {
      if (!marshalledIn(field, s_.version)) continue;
      if (!spend()) return false;
      switch (field.kind) {
        case FieldKind::kByte:
          if (!skip(1)) return false;
          break;
        case FieldKind::kMagic: {
          Bytes m;
          if (!c_.take(8, m)) return cut();
          if (asText(m) != "ActiveMQ") return bad("bad WireFormatInfo magic");
          break;
        }
        case FieldKind::kInt: {
          uint32_t v = 0;
          if (!c_.be(v)) return cut();
          // Ids of a dispatched message are its own, not the dispatch's.
          if (!capture || depth > 0) break;
          if (field.role == FieldRole::kCommandId) {
            f_.has_command_id = true;
            f_.command_id = v;
          } else if (field.role == FieldRole::kCorrelationId) {
            f_.has_correlation_id = true;
            f_.correlation_id = v;
          } else if (field.role == FieldRole::kVersion) {
            f_.version = v;
          }
          break;
        }
        case FieldKind::kBool: {
          bool v = false;
          if (!flag(v)) return false;
          if (capture && depth == 0 && field.role == FieldRole::kResponseRequired) f_.response_required = v;
          break;
        }
        case FieldKind::kLong:
          if (!longValue()) return false;
          break;
        case FieldKind::kString: {
          std::string_view v;
          bool present = false;
          if (!string(v, present)) return false;
          if (field.role == FieldRole::kPhysicalName) name = v;
          if (!capture) break;
          if (field.role == FieldRole::kJmsCorrelationId && f_.jms_correlation_id.empty()) {
            f_.jms_correlation_id.assign(v);
          } else if (field.role == FieldRole::kBrokerUrl) {
            f_.broker_url.assign(v);
          }
          break;
        }
        case FieldKind::kByteArray: {
          Bytes v;
          bool present = false;
          if (!byteArray(v, present)) return false;
          if (capture && field.role == FieldRole::kProperties && present && !f_.has_properties) {
            f_.properties = v;
            f_.has_properties = true;
          }
          break;
        }
        case FieldKind::kNested:
        case FieldKind::kCached: {
          // Only the command's own destination and dispatched message are
          // recorded; ids, reply-to and original destinations are walked.
          const bool inner_capture = capture && field.role == FieldRole::kMessage;
          std::string_view v;
          if (field.kind == FieldKind::kCached ? !cached(depth, inner_capture, v) : !nested(depth, inner_capture, v)) {
            return false;
          }
          if (capture && field.role == FieldRole::kDestination && !f_.has_destination && !v.empty()) {
            f_.has_destination = true;
            f_.destination.assign(v);
          }
          break;
        }
        case FieldKind::kNestedArray: {
          bool present = false;
          if (!flag(present)) return false;
          if (!present) break;
          uint16_t count = 0;
          if (!c_.be(count)) return cut();
          if (count >= 0x8000) return bad("negative array length");
          for (uint16_t i = 0; i < count; ++i) {
            std::string_view unused;
            if (!spend() || !nested(depth, false, unused)) return false;
          }
          break;
        }
        case FieldKind::kThrowable:
          if (!throwable(depth, capture && field.role == FieldRole::kException)) return false;
          break;
      }
    }
    return true;
  }

  Cursor c_;
  const WireSettings& s_;
  MarshalCache& cache_;
  bool dry_run_;
  CommandFacts& f_;
  BoolStream bs_;
  // Entries this command sends by value, applied once it is whole (views
  // into the command's bytes, which outlive the walk).
  std::vector<std::pair<uint32_t, std::string_view>> puts_;
  Fail fail_ = Fail::kMalformed;
  uint32_t fuel_ = kFuel;
};

}  // namespace

DecodeStatus decodeCommand(Bytes data, const WireSettings& settings, MarshalCache& cache, bool dry_run,
                           CommandFacts& facts) {
  Walker walker(data, settings, cache, dry_run, facts);
  const DecodeStatus status = walker.run();
  facts.fields_read = walker.fieldsRead();
  return status;
}

namespace detail {

bool readUtf(ByteReader& r, std::string_view& s) {
  uint16_t len = 0;
  return r.u16be(len) && r.text(len, s);
}

bool readMapValue(ByteReader& r, uint8_t type, MapValue& v, int depth, uint32_t& budget) {
  if (budget == 0) return false;
  --budget;
  v.type = type;
  switch (type) {
    case 0: return true;  // null
    case 1:
    case 2: {
      uint8_t b = 0;
      if (!r.u8(b)) return false;
      v.integer = type == 2 ? static_cast<int8_t>(b) : (b != 0);
      return true;
    }
    case 3:
    case 4: {
      int16_t x = 0;
      if (!r.i16be(x)) return false;
      v.integer = type == 3 ? static_cast<uint16_t>(x) : x;
      return true;
    }
    case 5:
    case 8: {
      int32_t x = 0;
      if (!r.i32be(x)) return false;
      v.integer = x;
      return true;
    }
    case 6:
    case 7: return r.i64be(v.integer);
    case 9: return readUtf(r, v.text);
    case 10:
    case 13: {
      int32_t len = 0;
      return r.i32be(len) && len >= 0 && r.text(static_cast<size_t>(len), v.text);
    }
    case 11: {
      if (depth >= kMaxDepth) return false;
      int32_t count = 0;
      if (!r.i32be(count)) return false;
      for (int32_t i = 0; i < count; ++i) {
        std::string_view name;
        uint8_t t = 0;
        MapValue inner;
        if (!readUtf(r, name) || !r.u8(t) || !readMapValue(r, t, inner, depth + 1, budget)) return false;
      }
      return true;
    }
    case 12: {
      if (depth >= kMaxDepth) return false;
      int32_t count = 0;
      if (!r.i32be(count)) return false;
      for (int32_t i = 0; i < count; ++i) {
        uint8_t t = 0;
        MapValue inner;
        if (!r.u8(t) || !readMapValue(r, t, inner, depth + 1, budget)) return false;
      }
      return true;
    }
    default: return false;
  }
}

}  // namespace detail

bool parseWireFormatOptions(Bytes properties, uint32_t max_entries, WireFormatOptions& out) {
  // A key that is absent reads as false / 0, as WireFormatInfo's getters do.
  out = {};
  return forEachMapEntry(properties, max_entries, [&](std::string_view name, const MapValue& v) {
    const bool flag = v.type == 1 && v.integer != 0;
    const bool number = v.type >= 2 && v.type <= 6;
    if (name == "TightEncodingEnabled") {
      out.tight = flag;
    } else if (name == "SizePrefixDisabled") {
      out.size_prefix_disabled = flag;
    } else if (name == "CacheEnabled") {
      out.cache = flag;
    } else if (name == "StackTraceEnabled") {
      out.stack_trace = flag;
    } else if (name == "CacheSize" && number) {
      out.cache_size = static_cast<uint32_t>(std::clamp<int64_t>(v.integer, 0, kMaxCacheSize));
    } else if (name == "MaxFrameSize" && number) {
      out.max_frame_size = v.integer;
    } else if (name == "MaxInactivityDuration" && number) {
      out.max_inactivity_duration = v.integer;
    }
  });
}

WireSettings negotiate(const WireFormatOptions& a, uint32_t version_a, const WireFormatOptions& b,
                       uint32_t version_b) {
  WireSettings s;
  s.tight = a.tight && b.tight;
  s.size_prefix_disabled = a.size_prefix_disabled && b.size_prefix_disabled;
  s.cache = a.cache && b.cache;
  s.cache_size = s.cache ? std::min(a.cache_size, b.cache_size) : 0;
  s.stack_trace = a.stack_trace && b.stack_trace;
  s.version = std::min(version_a, version_b);
  return s;
}

}  // namespace l7::openwire
