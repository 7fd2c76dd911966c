#include "amqp/amqp_wire.h"

#include <array>

namespace l7::amqp {
namespace {

using enum MethodRole;
constexpr Sender kC = Sender::kClient;
constexpr Sender kS = Sender::kServer;
constexpr Sender kB = Sender::kBoth;

// Every method of AMQP 0-9-1 (amqp0-9-1.xml) with RabbitMQ's extensions
// (Exchange.Bind/Unbind, Basic.Nack, Confirm, Connection.Blocked/Unblocked,
// Connection.UpdateSecret; the broker may send Basic.Cancel and Basic.Ack).
constexpr std::array kMethods = {
    MethodInfo{10, 10, "Connection.Start", kRequest, kS},
    MethodInfo{10, 11, "Connection.StartOk", kResponse, kC},
    MethodInfo{10, 20, "Connection.Secure", kRequest, kS},
    MethodInfo{10, 21, "Connection.SecureOk", kResponse, kC},
    MethodInfo{10, 30, "Connection.Tune", kRequest, kS},
    MethodInfo{10, 31, "Connection.TuneOk", kResponse, kC},
    MethodInfo{10, 40, "Connection.Open", kRequest, kC},
    MethodInfo{10, 41, "Connection.OpenOk", kResponse, kS},
    MethodInfo{10, 50, "Connection.Close", kRequest, kB},
    MethodInfo{10, 51, "Connection.CloseOk", kResponse, kB},
    MethodInfo{10, 60, "Connection.Blocked", kOneWay, kS},
    MethodInfo{10, 61, "Connection.Unblocked", kOneWay, kS},
    MethodInfo{10, 70, "Connection.UpdateSecret", kRequest, kC},
    MethodInfo{10, 71, "Connection.UpdateSecretOk", kResponse, kS},
    MethodInfo{20, 10, "Channel.Open", kRequest, kC},
    MethodInfo{20, 11, "Channel.OpenOk", kResponse, kS},
    MethodInfo{20, 20, "Channel.Flow", kRequest, kB},
    MethodInfo{20, 21, "Channel.FlowOk", kResponse, kB},
    MethodInfo{20, 40, "Channel.Close", kRequest, kB},
    MethodInfo{20, 41, "Channel.CloseOk", kResponse, kB},
    MethodInfo{40, 10, "Exchange.Declare", kRequest, kC},
    MethodInfo{40, 11, "Exchange.DeclareOk", kResponse, kS},
    MethodInfo{40, 20, "Exchange.Delete", kRequest, kC},
    MethodInfo{40, 21, "Exchange.DeleteOk", kResponse, kS},
    MethodInfo{40, 30, "Exchange.Bind", kRequest, kC},
    MethodInfo{40, 31, "Exchange.BindOk", kResponse, kS},
    MethodInfo{40, 40, "Exchange.Unbind", kRequest, kC},
    MethodInfo{40, 51, "Exchange.UnbindOk", kResponse, kS},
    MethodInfo{50, 10, "Queue.Declare", kRequest, kC},
    MethodInfo{50, 11, "Queue.DeclareOk", kResponse, kS},
    MethodInfo{50, 20, "Queue.Bind", kRequest, kC},
    MethodInfo{50, 21, "Queue.BindOk", kResponse, kS},
    MethodInfo{50, 30, "Queue.Purge", kRequest, kC},
    MethodInfo{50, 31, "Queue.PurgeOk", kResponse, kS},
    MethodInfo{50, 40, "Queue.Delete", kRequest, kC},
    MethodInfo{50, 41, "Queue.DeleteOk", kResponse, kS},
    MethodInfo{50, 50, "Queue.Unbind", kRequest, kC},
    MethodInfo{50, 51, "Queue.UnbindOk", kResponse, kS},
    MethodInfo{60, 10, "Basic.Qos", kRequest, kC},
    MethodInfo{60, 11, "Basic.QosOk", kResponse, kS},
    MethodInfo{60, 20, "Basic.Consume", kRequest, kC},
    MethodInfo{60, 21, "Basic.ConsumeOk", kResponse, kS},
    MethodInfo{60, 30, "Basic.Cancel", kRequest, kB},
    MethodInfo{60, 31, "Basic.CancelOk", kResponse, kB},
    MethodInfo{60, 40, "Basic.Publish", kOneWay, kC, true},
    MethodInfo{60, 50, "Basic.Return", kOneWay, kS, true},
    MethodInfo{60, 60, "Basic.Deliver", kOneWay, kS, true},
    MethodInfo{60, 70, "Basic.Get", kRequest, kC},
    MethodInfo{60, 71, "Basic.GetOk", kResponse, kS, true},
    MethodInfo{60, 72, "Basic.GetEmpty", kResponse, kS},
    MethodInfo{60, 80, "Basic.Ack", kOneWay, kB},
    MethodInfo{60, 90, "Basic.Reject", kOneWay, kC},
    MethodInfo{60, 100, "Basic.RecoverAsync", kOneWay, kC},
    MethodInfo{60, 110, "Basic.Recover", kRequest, kC},
    MethodInfo{60, 111, "Basic.RecoverOk", kResponse, kS},
    MethodInfo{60, 120, "Basic.Nack", kOneWay, kB},
    MethodInfo{85, 10, "Confirm.Select", kRequest, kC},
    MethodInfo{85, 11, "Confirm.SelectOk", kResponse, kS},
    MethodInfo{90, 10, "Tx.Select", kRequest, kC},
    MethodInfo{90, 11, "Tx.SelectOk", kResponse, kS},
    MethodInfo{90, 20, "Tx.Commit", kRequest, kC},
    MethodInfo{90, 21, "Tx.CommitOk", kResponse, kS},
    MethodInfo{90, 30, "Tx.Rollback", kRequest, kC},
    MethodInfo{90, 31, "Tx.RollbackOk", kResponse, kS},
};

struct Walker {
  const TableLimits& limits;
  StringEntryFn fn;
  void* ctx;
  uint32_t entries = 0;

  const char* value(ByteReader& r, uint32_t depth, std::string_view name, bool top) {
    if (++entries > limits.max_entries) return "field table has too many entries";
    uint8_t type = 0;
    if (!r.u8(type)) return "field value type truncated";
    size_t fixed = 0;
    switch (type) {
      case 't': case 'b': case 'B': fixed = 1; break;
      case 's': case 'u': case 'U': fixed = 2; break;  // 's': RabbitMQ's short-int (errata)
      case 'I': case 'i': case 'f': fixed = 4; break;
      case 'l': case 'L': case 'd': case 'T': fixed = 8; break;
      case 'D': fixed = 5; break;
      case 'V': return nullptr;
      case 'S': case 'x': {
        std::string_view text;
        if (!readLongStr(r, text)) return "long string truncated";
        if (top && type == 'S' && fn != nullptr) fn(ctx, name, text);
        return nullptr;
      }
      case 'F': return table(r, depth + 1);
      case 'A': return array(r, depth + 1);
      default: return "unknown field value type";
    }
    return r.skip(fixed) ? nullptr : "field value truncated";
  }

  const char* table(ByteReader& r, uint32_t depth) {
    if (depth > limits.max_depth) return "field tables nested too deep";
    uint32_t length = 0;
    ByteReader t;
    if (!r.u32be(length) || !r.sub(length, t)) return "field table truncated";
    while (!t.empty()) {
      std::string_view name;
      if (!readShortStr(t, name)) return "field name truncated";
      if (const char* why = value(t, depth, name, depth == 1)) return why;
    }
    return nullptr;
  }

  const char* array(ByteReader& r, uint32_t depth) {
    if (depth > limits.max_depth) return "field arrays nested too deep";
    uint32_t length = 0;
    ByteReader a;
    if (!r.u32be(length) || !r.sub(length, a)) return "field array truncated";
    while (!a.empty()) {
      if (const char* why = value(a, depth, {}, false)) return why;
    }
    return nullptr;
  }
};

}  // namespace

bool knownFrameType(uint8_t type) { return type == 1 || type == 2 || type == 3 || type == 8; }

bool readFrameHeader(Bytes b, FrameHeader& h) {
  ByteReader r(b);
  return r.u8(h.type) && r.u16be(h.channel) && r.u32be(h.size);
}

const MethodInfo* findMethod(uint16_t class_id, uint16_t method_id) {
  for (const MethodInfo& m : kMethods) {
    if (m.class_id == class_id && m.method_id == method_id) return &m;
  }
  return nullptr;
}

std::string_view className(uint16_t class_id) {
  switch (class_id) {
    case 10: return "Connection";
    case 20: return "Channel";
    case 40: return "Exchange";
    case 50: return "Queue";
    case 60: return "Basic";
    case 85: return "Confirm";
    case 90: return "Tx";
    default: return "";
  }
}

bool isProtocolHeaderStart(Bytes b) {
  constexpr std::string_view kAmqp = "AMQP";
  const size_t n = std::min<size_t>(b.size(), kAmqp.size());
  return asText(b.first(n)) == kAmqp.substr(0, n);
}

ProtocolHeader readProtocolHeader(Bytes eight) {
  ProtocolHeader h;
  const uint8_t id = eight[4], major = eight[5], minor = eight[6], revision = eight[7];
  if (id == 0 && major == 0 && minor == 9 && revision == 1) {
    h.amqp091 = true;
    h.version = "0-9-1";
  } else if (id == 0 && major == 1 && minor == 0 && revision == 0) {
    h.version = "1.0";
  } else if (id == 3 && major == 1 && minor == 0 && revision == 0) {
    h.version = "1.0 SASL";
  } else if (id == 2 && major == 1 && minor == 0 && revision == 0) {
    h.version = "1.0 TLS";
  } else if (id == 1 && major == 1 && minor == 0 && revision == 9) {
    h.version = "0-9";
  } else if (id == 1 && major == 1 && minor == 8 && revision == 0) {
    h.version = "0-8";
  } else {
    h.version = "AMQP " + std::to_string(id) + "." + std::to_string(major) + "." + std::to_string(minor) + "." +
                std::to_string(revision);
  }
  return h;
}

const char* readFieldTableImpl(ByteReader& r, const TableLimits& limits, StringEntryFn fn, void* ctx) {
  Walker w{limits, fn, ctx};
  return w.table(r, 1);
}

namespace {
// A string behind a length of type Len (u8 shortstr, u32 longstr); the
// reader does not move when it is truncated.
template <typename Len>
bool readPrefixed(ByteReader& r, std::string_view& out) {
  ByteReader save = r;
  Len n = 0;
  bool ok = false;
  if constexpr (sizeof(Len) == 1) {
    ok = r.u8(n);
  } else {
    ok = r.u32be(n);
  }
  if (!ok || !r.text(n, out)) {
    r = save;
    return false;
  }
  return true;
}
}  // namespace

bool readShortStr(ByteReader& r, std::string_view& out) { return readPrefixed<uint8_t>(r, out); }
bool readLongStr(ByteReader& r, std::string_view& out) { return readPrefixed<uint32_t>(r, out); }

ReplyInfo replyInfo(uint16_t code) {
  // Status numbers are l7::ResponseStatus: 0 ok, 3 server error, 4 client error.
  switch (code) {
    case 200: return {0, "reply-success"};
    case 311: return {4, "content-too-large"};
    case 312: return {4, "no-route"};
    case 313: return {4, "no-consumers"};
    case 320: return {3, "connection-forced"};
    case 402: return {4, "invalid-path"};
    case 403: return {4, "access-refused"};
    case 404: return {4, "not-found"};
    case 405: return {4, "resource-locked"};
    case 406: return {4, "precondition-failed"};
    case 501: return {4, "frame-error"};
    case 502: return {4, "syntax-error"};
    case 503: return {4, "command-invalid"};
    case 504: return {4, "channel-error"};
    case 505: return {4, "unexpected-frame"};
    case 506: return {3, "resource-error"};
    case 530: return {4, "not-allowed"};
    case 540: return {4, "not-implemented"};
    case 541: return {3, "internal-error"};
    default: return {4, ""};
  }
}

}  // namespace l7::amqp
