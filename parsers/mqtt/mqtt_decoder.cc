#include "mqtt/mqtt_decoder.h"

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "l7/resync.h"
#include "l7/tracectx.h"
#include "mqtt/mqtt_wire.h"

namespace l7::mqtt {
namespace {

// Pairing lanes. Packet identifiers are chosen by whoever initiates an
// exchange, so each exchange kind gets one lane per initiating direction.
constexpr uint32_t kLaneConnect = 1;
constexpr uint32_t kLanePing = 2;
constexpr uint32_t kLanePublishQos1 = 10;  // + initiating direction
constexpr uint32_t kLanePublishQos2 = 12;  // PUBLISH → PUBREC
constexpr uint32_t kLanePubrel = 14;       // PUBREL → PUBCOMP
constexpr uint32_t kLaneSubscribe = 16;
constexpr uint32_t kLaneUnsubscribe = 18;

// Bytes of an oversized PUBLISH read for its topic and properties.
constexpr uint32_t kPublishPrefix = 64 * 1024;

uint32_t lane(uint32_t base, Direction initiator) { return base + static_cast<uint32_t>(initiator); }

bool readString(ByteReader& r, std::string_view& out) {
  uint16_t n = 0;
  ByteReader save = r;
  if (!r.u16be(n) || !r.text(n, out)) {
    r = save;
    return false;
  }
  return true;
}

bool readBinary(ByteReader& r) {
  std::string_view ignored;
  return readString(r, ignored);
}

// What the decoder keeps of an MQTT 5 property block.
struct Properties {
  std::optional<uint16_t> topic_alias;          // 0x23
  std::optional<uint16_t> topic_alias_maximum;  // 0x22
  // The first `traceparent` and `sw8` User Properties (W3C Trace Context
  // over MQTT puts them there); views into the packet body.
  std::string_view traceparent, sw8;
};

// MQTT 5 properties: a length, then identifier-typed values. Every value is
// read and checked against its type, so a length that lies is caught.
bool readProperties(ByteReader& r, uint32_t max_count, Properties& out) {
  uint32_t length = 0;
  if (!r.mqttVarint(length)) return false;
  ByteReader props;
  if (!r.sub(length, props)) return false;
  uint32_t count = 0;
  while (!props.empty()) {
    if (++count > max_count) return false;
    uint32_t id = 0;
    if (!props.mqttVarint(id)) return false;
    bool ok = false;
    uint8_t b = 0;
    uint16_t s = 0;
    uint32_t w = 0;
    std::string_view text, value;
    switch (id) {
      case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A:
        ok = props.u8(b);
        break;
      case 0x13: case 0x21: case 0x22: case 0x23:
        ok = props.u16be(s);
        if (ok && id == 0x22) out.topic_alias_maximum = s;
        if (ok && id == 0x23) out.topic_alias = s;
        break;
      case 0x02: case 0x11: case 0x18: case 0x27:
        ok = props.u32be(w);
        break;
      case 0x0B:
        ok = props.mqttVarint(w);
        break;
      case 0x03: case 0x08: case 0x12: case 0x15: case 0x1A: case 0x1C: case 0x1F:
        ok = readString(props, text);
        break;
      case 0x09: case 0x16:
        ok = readBinary(props);
        break;
      case 0x26:
        ok = readString(props, text) && readString(props, value);
        if (ok && text == "traceparent" && out.traceparent.empty()) out.traceparent = value;
        if (ok && text == "sw8" && out.sw8.empty()) out.sw8 = value;
        break;
      default:
        ok = false;  // unknown property identifier: malformed
    }
    if (!ok) return false;
  }
  return true;
}

class MqttDecoder final : public Decoder {
 public:
  explicit MqttDecoder(const DecoderLimits& limits)
      : limits_(limits), resync_{Resync(resyncRules(limits)), Resync(resyncRules(limits))} {}

  FeedResult feed(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    base_ = tail_pos;
    size_t pos = 0;
    while (pos < tail.size()) {
      uint32_t need = 0;
      if (!resyncStep(resync_[d], Grammar(*this, dir), tail, pos, limits_.max_buffered_bytes, need)) {
        return FeedResult{static_cast<uint32_t>(pos), need, 0};
      }
      FixedHeader h;
      const Bytes rest = tail.subspan(pos);
      const HeaderResult hr = parseFixedHeader(rest, allowAuth(), h);
      if (hr == HeaderResult::kNeedMore) break;
      if (hr == HeaderResult::kInvalid) {
        emitFailure(dir, sink, pos, 1, "", "invalid fixed header");
        resync_[d].start();
        ++pos;
        continue;
      }
      const uint64_t total = uint64_t{h.header_size} + h.remaining;
      if (h.remaining > limits_.max_message_bytes) {
        emitFailure(dir, sink, pos, h.header_size, packetName(h.type), "remaining length exceeds the cap");
        return FeedResult{static_cast<uint32_t>(pos + h.header_size), 0, h.remaining};
      }
      if (total > rest.size()) {
        if (total <= limits_.max_buffered_bytes) return FeedResult{static_cast<uint32_t>(pos), static_cast<uint32_t>(total), 0};
        // Too large to hold: a PUBLISH is decoded from its beginning (topic,
        // identifier, properties) and the payload passed over unseen. The
        // beginning waited for stays within the buffering cap too.
        const uint32_t cap = std::max<uint32_t>(limits_.max_buffered_bytes, h.header_size + 1);
        const uint32_t prefix = h.header_size + std::min(std::min(h.remaining, kPublishPrefix), cap - h.header_size);
        if (h.type != PacketType::kPublish) {
          emitFailure(dir, sink, pos, h.header_size, packetName(h.type), "packet exceeds the buffering cap");
          return FeedResult{static_cast<uint32_t>(pos + h.header_size), 0, h.remaining};
        }
        if (rest.size() < prefix) return FeedResult{static_cast<uint32_t>(pos), prefix, 0};
        decodePacket(dir, h, rest.subspan(h.header_size, prefix - h.header_size), false, pos,
                     static_cast<uint32_t>(total), sink);
        return FeedResult{static_cast<uint32_t>(pos + prefix), 0, total - prefix};
      }
      decodePacket(dir, h, rest.subspan(h.header_size, h.remaining), true, pos, static_cast<uint32_t>(total), sink);
      pos += total;
    }
    return FeedResult{static_cast<uint32_t>(pos), 0, 0};
  }

  // What a resynchronization held is decided as at the end of the stream;
  // a packet cut by the gap is lost with it, silently.
  void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept override {
    if (!held.empty()) decodeToEnd(dir, held, pos, sink);
    resync_[static_cast<int>(dir)].start();
  }

  void onEof(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const size_t pos = decodeToEnd(dir, tail, tail_pos, sink);
    if (pos >= tail.size() || resync_[static_cast<int>(dir)].active()) return;
    base_ = tail_pos;
    FixedHeader h;
    const Bytes rest = tail.subspan(pos);
    const bool known = parseFixedHeader(rest, allowAuth(), h) == HeaderResult::kOk;
    emitFailure(dir, sink, pos, static_cast<uint32_t>(rest.size()), known ? packetName(h.type) : "",
                "stream ended inside a packet");
  }

 private:
  // A start is taken after a gap when two whole packets follow each other
  // from it: random payload bytes pass one check often, a chain rarely.
  // At the end (or before lost bytes), the start whose packets cover the
  // rest exactly, with the most packets.
  static ResyncRules resyncRules(const DecoderLimits& limits) {
    ResyncRules rules{2, limits.max_buffered_bytes};
    rules.longest_to_end = true;
    return rules;
  }

  bool allowAuth() const { return level_ == 5 || level_ == 0; }
  bool v5() const { return level_ == 5; }
  // A CONNECT said 3.1 or 3.1.1. Rules only those versions have (fixed
  // remaining lengths that 5.0 extends with reason codes and properties)
  // are checked only then: a capture joined mid-stream (level unknown) may
  // be 5.0, and its packets must not be refused for being 5.0 packets.
  bool v3() const { return level_ == 3 || level_ == 4; }

  // Packets only one side may send (MQTT 3.1.1 §3, 5.0 §3).
  static bool allowedFrom(PacketType t, Direction dir) {
    switch (t) {
      case PacketType::kConnect:
      case PacketType::kSubscribe:
      case PacketType::kUnsubscribe:
      case PacketType::kPingreq:
        return dir == Direction::kToServer;
      case PacketType::kConnack:
      case PacketType::kSuback:
      case PacketType::kUnsuback:
      case PacketType::kPingresp:
        return dir == Direction::kToClient;
      default:
        return true;
    }
  }

  // Collects what a dry-run decode would emit, to validate resync candidates.
  struct ProbeSink final : MessageSink {
    bool failed = false;
    void onMessage(Direction, Message&& m) override { failed = m.fields.response_status == ResponseStatus::kParseFailed; }
  };

  // Nothing more comes before the end (or a gap): a resynchronization
  // decides on what it holds, and whole packets are decoded. Returns where
  // decoding stopped.
  size_t decodeToEnd(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) {
    const int d = static_cast<int>(dir);
    size_t pos = 0;
    if (!resyncAtEnd(resync_[d], Grammar(*this, dir), tail, pos)) return tail.size();
    if (pos < tail.size()) pos += feed(dir, tail.subspan(pos), tail_pos + pos, sink).consumed;
    return pos;
  }

  // Bytes of a whole packet's body dry-run decoded when a resynchronization
  // judges a start; a longer packet is judged by its header and the rules
  // its first bytes can break, so that judging stays cheap per byte.
  static constexpr size_t kGuessWindow = 512;

  // MQTT's grammar for the resynchronization engine: a fixed header legal
  // from this side, with a body that decodes (or, for a long packet, whose
  // first bytes break no rule).
  struct Grammar final : FrameGrammar {
    Grammar(MqttDecoder& decoder, Direction dir) : self(decoder), dir(dir) {}
    FrameGuess guess(Bytes data, size_t at) const noexcept override {
      FixedHeader h;
      const Bytes b = data.subspan(at);
      const HeaderResult r = parseFixedHeader(b, self.allowAuth(), h);
      if (r == HeaderResult::kNeedMore) return FrameGuess::needMore();
      if (r != HeaderResult::kOk || !allowedFrom(h.type, dir) || self.v3SizeViolation(h) != nullptr ||
          h.remaining > self.limits_.max_buffered_bytes)
        return FrameGuess::no();
      const uint64_t total = uint64_t{h.header_size} + h.remaining;
      if (h.remaining <= kGuessWindow) {
        if (total > b.size()) return prefixRefutes(h, b.subspan(h.header_size)) ? FrameGuess::no() : FrameGuess::frame(total);
        ProbeSink probe;
        self.decodePacket(dir, h, b.subspan(h.header_size, h.remaining), true, at, 0, probe, /*dry_run=*/true);
        return probe.failed ? FrameGuess::no() : FrameGuess::frame(total);
      }
      const Bytes prefix = b.subspan(h.header_size, std::min<size_t>(b.size() - h.header_size, kGuessWindow));
      return prefixRefutes(h, prefix) ? FrameGuess::no() : FrameGuess::frame(total);
    }
    MqttDecoder& self;
    Direction dir;
  };

  // Whether the first bytes of an incomplete packet's body already break
  // a rule decodePacket would refuse it for once whole (the same rules,
  // judged early): a false packet start in the middle of a payload often
  // claims far more bytes than will come, and would otherwise be waited for
  // until they have. Only PUBLISH has such rules in its first bytes: DUP
  // without QoS, a topic (and packet identifier) longer than the packet,
  // packet identifier 0.
  static bool prefixRefutes(const FixedHeader& h, Bytes prefix) {
    if (h.type != PacketType::kPublish) return false;
    const uint8_t qos = (h.flags >> 1) & 3;
    if ((h.flags & 0x08) != 0 && qos == 0) return true;
    ByteReader r(prefix);
    uint16_t topic = 0;
    if (!r.u16be(topic)) return false;
    const uint64_t fixed = 2ull + topic + (qos > 0 ? 2 : 0);
    if (fixed > h.remaining) return true;
    if (qos == 0 || prefix.size() < 2ull + topic + 2) return false;
    return prefix[2 + topic] == 0 && prefix[2 + topic + 1] == 0;
  }

  Message base(Direction dir, MessageKind kind, PacketType type, size_t offset, uint32_t wire, uint32_t remaining) const {
    Message m;
    m.kind = kind;
    m.pos = base_ + offset;
    m.wire_size = wire;
    m.fields.request_type = std::string(packetName(type));
    m.fields.version = std::string(versionName(level_));
    m.fields.request_domain = client_id_;
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    const bool request_side = kind == MessageKind::kRequest || (kind == MessageKind::kOneWay && dir == Direction::kToServer);
    (request_side ? m.fields.request_length : m.fields.response_length) = static_cast<int64_t>(remaining);
    return m;
  }

  void emitFailure(Direction dir, MessageSink& sink, size_t offset, uint32_t wire, std::string_view type,
                   std::string_view why) const {
    Message m;
    m.kind = MessageKind::kOneWay;
    m.pos = base_ + offset;
    m.wire_size = wire;
    m.fields.request_type = std::string(type);
    m.fields.version = std::string(versionName(level_));
    m.fields.request_domain = client_id_;
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::string(why);
    sink.onMessage(dir, std::move(m));
  }

  void setReason(Message& m, uint8_t code) const {
    const ReasonInfo info = reasonV5(code);
    m.fields.response_status = info.status;
    if (info.status != ResponseStatus::kOk) m.fields.response_exception = std::string(info.name);
  }

  // Why a packet's remaining length is wrong for MQTT 3.1/3.1.1, or nullptr.
  // Those versions fix it where 5.0 adds reason codes and properties:
  // CONNACK (3.1.1 §3.2), PUBACK/PUBREC/PUBREL/PUBCOMP (§3.4-3.7) and
  // UNSUBACK (§3.11) carry 2 bytes, DISCONNECT (§3.14) none. Known from the
  // fixed header alone, so a false packet start in resync is refused
  // before its declared body is waited for.
  const char* v3SizeViolation(const FixedHeader& h) const {
    if (!v3()) return nullptr;
    switch (h.type) {
      case PacketType::kConnack:
        return h.remaining == 2 ? nullptr : "CONNACK remaining length is not 2";
      case PacketType::kPuback:
      case PacketType::kPubrec:
      case PacketType::kPubrel:
      case PacketType::kPubcomp:
        return h.remaining == 2 ? nullptr : "remaining length is not 2";
      case PacketType::kUnsuback:
        return h.remaining == 2 ? nullptr : "UNSUBACK remaining length is not 2";
      case PacketType::kDisconnect:
        return h.remaining == 0 ? nullptr : "DISCONNECT remaining length is not 0";
      default:
        return nullptr;
    }
  }

  // Why a SUBSCRIBE's options byte is malformed, or nullptr. QoS 3 is
  // invalid in every version. 3.1.1 [MQTT-3-8.3-4]: the upper six bits are
  // reserved and must be 0. 5.0 §3.8.3.1: bits 6-7 are reserved
  // [MQTT-3.8.3-5] and Retain Handling 3 is a protocol error. MQTT 3.1 only
  // calls the upper bits "not used", so nothing more is required there; with
  // the level unknown (mid-stream) bits 6-7, reserved in 3.1.1 and 5.0 alike.
  const char* badSubscriptionOptions(uint8_t options) const {
    if ((options & 0x03) == 3) return "QoS 3 requested";
    if (level_ == 4 && (options & 0xFC) != 0) return "reserved bits of the requested QoS set";
    if ((level_ == 5 || level_ == 0) && (options & 0xC0) != 0) return "reserved subscription option bits set";
    if (level_ == 5 && ((options >> 4) & 3) == 3) return "retain handling 3";
    return nullptr;
  }

  // `complete` is false for a PUBLISH decoded from a prefix of its body.
  // A dry run validates without changing connection state.
  void decodePacket(Direction dir, const FixedHeader& h, Bytes body, bool complete, size_t offset, uint32_t wire,
                    MessageSink& sink, bool dry_run = false) {
    ByteReader r(body);
    Properties props;
    // Trace context from the packet's User Properties (extension, mqtt.tsv).
    auto send = [&](Message&& m) {
      if (!props.traceparent.empty()) tracectx::applyTraceHeader("traceparent", props.traceparent, m.fields);
      if (!props.sw8.empty()) tracectx::applyTraceHeader("sw8", props.sw8, m.fields);
      sink.onMessage(dir, std::move(m));
    };
    const std::string_view name = packetName(h.type);
    auto malformed = [&](std::string_view why) { emitFailure(dir, sink, offset, wire, name, why); };
    const Direction peer = reverse(dir);
    if (!allowedFrom(h.type, dir)) return malformed("packet type not allowed from this side");
    if (const char* why = v3SizeViolation(h)) return malformed(why);
    switch (h.type) {
      case PacketType::kConnect: {
        std::string_view protocol, client_id;
        uint8_t level = 0, flags = 0;
        uint16_t keep_alive = 0;
        if (!readString(r, protocol) || !r.u8(level) || !r.u8(flags) || !r.u16be(keep_alive))
          return malformed("CONNECT variable header truncated");
        if (!((protocol == "MQTT" && (level == 4 || level == 5)) || (protocol == "MQIsdp" && level == 3)))
          return malformed("unknown protocol name or level");
        if ((flags & 0x01) != 0) return malformed("CONNECT reserved flag set");
        // Will QoS (bits 3-4) and Will Retain (bit 5): QoS 3 exists in no
        // version; 3.1.1 [MQTT-3.1.2-13, -15] and 5.0 (3.1.2.6, 3.1.2.7)
        // require both to be 0 without the Will Flag. MQTT 3.1 states no
        // such rule, so its CONNECTs are not refused for it.
        const uint8_t will_qos = (flags >> 3) & 3;
        const bool will = (flags & 0x04) != 0;
        if (will_qos == 3) return malformed("will QoS 3");
        if (level != 3 && !will && (will_qos != 0 || (flags & 0x20) != 0))
          return malformed("will QoS or retain set without the will flag");
        if (level == 5 && !readProperties(r, limits_.max_array_count, props)) return malformed("bad CONNECT properties");
        if (!readString(r, client_id)) return malformed("client identifier truncated");
        if (will) {
          Properties will_props;  // the will message's, not this packet's
          if (level == 5 && !readProperties(r, limits_.max_array_count, will_props)) return malformed("bad will properties");
          std::string_view topic;
          if (!readString(r, topic) || !readBinary(r)) return malformed("will truncated");
        }
        if ((flags & 0x80) != 0 && !readBinary(r)) return malformed("user name truncated");
        if ((flags & 0x40) != 0 && !readBinary(r)) return malformed("password truncated");
        if (!dry_run) {
          level_ = level;
          client_id_ = std::string(client_id);
          // How many aliases the client accepts from the broker.
          alias_max_[static_cast<int>(Direction::kToClient)] = props.topic_alias_maximum;
        }
        Message m = base(dir, MessageKind::kRequest, h.type, offset, wire, h.remaining);
        m.key.lane = kLaneConnect;
        send(std::move(m));
        return;
      }
      case PacketType::kConnack: {
        uint8_t ack_flags = 0, code = 0;
        if (!r.u8(ack_flags) || !r.u8(code)) return malformed("CONNACK truncated");
        if ((ack_flags & 0xFE) != 0) return malformed("CONNACK reserved flags set");
        if (v5() && !r.empty() && !readProperties(r, limits_.max_array_count, props)) return malformed("bad CONNACK properties");
        if (!dry_run) alias_max_[static_cast<int>(Direction::kToServer)] = props.topic_alias_maximum;
        Message m = base(dir, MessageKind::kResponse, h.type, offset, wire, h.remaining);
        m.key.lane = kLaneConnect;
        m.fields.response_code = code;
        // A broker that does not speak 5.0 answers a 5.0 CONNECT in the
        // 3.1.1 form (two bytes, return code 1, 3.1.1 §3.2.2.3): read as
        // such, it is the refusal it is, not a 5.0 success code.
        const bool v3_form = v5() && h.remaining == 2;
        const ReasonInfo info = v5() && !v3_form ? reasonV5(code) : connackV3(code);
        m.fields.response_status = info.status;
        if (info.status != ResponseStatus::kOk) m.fields.response_exception = std::string(info.name);
        send(std::move(m));
        return;
      }
      case PacketType::kPublish: {
        const uint8_t qos = (h.flags >> 1) & 3;
        std::string_view topic;
        uint16_t packet_id = 0;
        if (!readString(r, topic)) return malformed("topic truncated");
        if (qos > 0 && !r.u16be(packet_id)) return malformed("packet identifier truncated");
        if (qos > 0 && packet_id == 0) return malformed("packet identifier 0");
        if ((h.flags & 0x08) != 0 && qos == 0) return malformed("DUP set on a QoS 0 PUBLISH");
        if (v5() && !readProperties(r, limits_.max_array_count, props)) return malformed("bad PUBLISH properties");
        if (props.topic_alias == 0) return malformed("topic alias 0");
        (void)complete;
        const MessageKind kind = qos == 0 ? MessageKind::kOneWay : MessageKind::kRequest;
        Message m = base(dir, kind, h.type, offset, wire, h.remaining);
        if (qos > 0) m.key = PairKey{lane(qos == 1 ? kLanePublishQos1 : kLanePublishQos2, dir), packet_id};
        m.fields.request_resource = props.topic_alias ? resolveAlias(dir, *props.topic_alias, topic, dry_run)
                                                      : std::string(topic);
        m.fields.endpoint = m.fields.request_resource;
        send(std::move(m));
        return;
      }
      case PacketType::kPuback:
      case PacketType::kPubrec:
      case PacketType::kPubrel:
      case PacketType::kPubcomp: {
        // The four publish acknowledgements share one layout: packet
        // identifier, then (5.0, optional) a reason code and properties.
        uint16_t packet_id = 0;
        if (!r.u16be(packet_id)) return malformed("packet identifier truncated");
        uint8_t code = 0;
        if (v5() && !r.empty()) {
          if (!r.u8(code)) return malformed("reason code truncated");
          if (!r.empty() && !readProperties(r, limits_.max_array_count, props)) return malformed("bad properties");
        }
        if (h.type == PacketType::kPubrel) {  // the second QoS 2 exchange starts here
          Message m = base(dir, MessageKind::kRequest, h.type, offset, wire, h.remaining);
          m.key = PairKey{lane(kLanePubrel, dir), packet_id};
          send(std::move(m));
          return;
        }
        Message m = base(dir, MessageKind::kResponse, h.type, offset, wire, h.remaining);
        const uint32_t base_lane = h.type == PacketType::kPuback   ? kLanePublishQos1
                                   : h.type == PacketType::kPubrec ? kLanePublishQos2
                                                                   : kLanePubrel;
        m.key = PairKey{lane(base_lane, peer), packet_id};
        if (v5()) setReason(m, code);
        send(std::move(m));
        return;
      }
      case PacketType::kSubscribe:
      case PacketType::kUnsubscribe: {
        const bool subscribe = h.type == PacketType::kSubscribe;
        uint16_t packet_id = 0;
        if (!r.u16be(packet_id)) return malformed("packet identifier truncated");
        if (v5() && !readProperties(r, limits_.max_array_count, props)) return malformed("bad properties");
        std::string filters;
        uint32_t count = 0;
        while (!r.empty()) {
          std::string_view filter;
          if (!readString(r, filter)) return malformed("topic filter truncated");
          if (subscribe) {
            uint8_t options = 0;
            if (!r.u8(options)) return malformed("subscription options truncated");
            if (const char* why = badSubscriptionOptions(options)) return malformed(why);
          }
          if (++count > limits_.max_array_count) return malformed("too many topic filters");
          if (!filters.empty()) filters.push_back(',');
          filters.append(filter);
        }
        if (count == 0) return malformed("no topic filter");
        Message m = base(dir, MessageKind::kRequest, h.type, offset, wire, h.remaining);
        m.key = PairKey{subscribe ? kLaneSubscribe : kLaneUnsubscribe, packet_id};
        m.fields.request_resource = filters;
        m.fields.endpoint = filters;
        send(std::move(m));
        return;
      }
      case PacketType::kSuback:
      case PacketType::kUnsuback: {
        const bool suback = h.type == PacketType::kSuback;
        uint16_t packet_id = 0;
        if (!r.u16be(packet_id)) return malformed("packet identifier truncated");
        if (v5() && !readProperties(r, limits_.max_array_count, props)) return malformed("bad properties");
        Message m = base(dir, MessageKind::kResponse, h.type, offset, wire, h.remaining);
        m.key = PairKey{suback ? kLaneSubscribe : kLaneUnsubscribe, packet_id};
        // The first refused filter decides the status (3.1.1: 0x80 failure;
        // 5.0: reason codes).
        uint8_t code = 0;
        while (r.u8(code)) {
          if (code >= 0x80) {
            if (v5()) {
              setReason(m, code);
            } else {
              m.fields.response_status = ResponseStatus::kServerError;
              m.fields.response_exception = "subscription refused";
            }
            break;
          }
        }
        send(std::move(m));
        return;
      }
      case PacketType::kPingreq: {
        Message m = base(dir, MessageKind::kRequest, h.type, offset, wire, h.remaining);
        m.key.lane = kLanePing;
        send(std::move(m));
        return;
      }
      case PacketType::kPingresp: {
        Message m = base(dir, MessageKind::kResponse, h.type, offset, wire, h.remaining);
        m.key.lane = kLanePing;
        send(std::move(m));
        return;
      }
      case PacketType::kDisconnect:
      case PacketType::kAuth: {
        Message m = base(dir, MessageKind::kOneWay, h.type, offset, wire, h.remaining);
        uint8_t code = 0;
        if (v5() && r.u8(code)) {
          if (!r.empty() && !readProperties(r, limits_.max_array_count, props)) return malformed("bad properties");
          setReason(m, code);
        }
        send(std::move(m));
        return;
      }
    }
  }

  // MQTT 5 topic aliases (§3.3.2.3.4), per sending direction: a PUBLISH
  // with a topic and an alias sets it, one with an empty topic uses it.
  // An alias never set (the capture joined late, or lost the PUBLISH that
  // set it) resolves to an empty topic. Bounded by what the other side
  // announced (Topic Alias Maximum) and by kMaxAliasBytes of topics.
  static constexpr size_t kMaxAliasBytes = 1u << 20;
  std::string resolveAlias(Direction dir, uint16_t alias, std::string_view topic, bool dry_run) {
    const int d = static_cast<int>(dir);
    auto& map = aliases_[d];
    if (topic.empty()) {
      const auto it = map.find(alias);
      return it == map.end() ? std::string() : it->second;
    }
    const bool allowed = !alias_max_[d] || alias <= *alias_max_[d];
    if (!dry_run && allowed) {
      auto it = map.find(alias);
      const size_t old = it == map.end() ? 0 : it->second.size();
      if (alias_bytes_[d] - old + topic.size() <= kMaxAliasBytes) {
        alias_bytes_[d] = alias_bytes_[d] - old + topic.size();
        map[alias] = std::string(topic);
      }
    }
    return std::string(topic);
  }

  DecoderLimits limits_;
  std::unordered_map<uint16_t, std::string> aliases_[2];
  size_t alias_bytes_[2] = {0, 0};
  std::optional<uint16_t> alias_max_[2];  // announced by the receiving side
  uint8_t level_ = 0;  // 0 until a CONNECT is seen: parsed as 3.1.1
  std::string client_id_;
  uint64_t base_ = 0;  // stream position of the span being decoded
  Resync resync_[2];
};

std::unique_ptr<Decoder> createMqtt(const DecoderLimits& limits) { return std::make_unique<MqttDecoder>(limits); }

constexpr uint16_t kMqttPorts[] = {1883, 8883};
constexpr std::string_view kMqttVersions[] = {"3.1", "3.1.1", "5.0"};

}  // namespace

ProbeVerdict probeMqtt(Bytes first_bytes) noexcept {
  // Only a CONNECT identifies MQTT from its first bytes; anything else is
  // left to the well-known ports and the decoder's resynchronization.
  FixedHeader h;
  const HeaderResult hr = parseFixedHeader(first_bytes, true, h);
  if (hr == HeaderResult::kNeedMore) return first_bytes.size() < 5 ? ProbeVerdict::kNeedMore : ProbeVerdict::kNo;
  if (hr != HeaderResult::kOk || h.type != PacketType::kConnect) return ProbeVerdict::kNo;
  ByteReader r(first_bytes.subspan(h.header_size));
  uint16_t n = 0;
  std::string_view name;
  uint8_t level = 0;
  if (!r.u16be(n)) return ProbeVerdict::kNeedMore;
  if (n != 4 && n != 6) return ProbeVerdict::kNo;
  if (!r.text(n, name) || !r.u8(level)) return ProbeVerdict::kNeedMore;
  if ((name == "MQTT" && (level == 4 || level == 5)) || (name == "MQIsdp" && level == 3)) return ProbeVerdict::kFromClient;
  return ProbeVerdict::kNo;
}

const DecoderInfo& mqttDecoderInfo() {
  static const DecoderInfo info{L7Protocol::kMqtt, "MQTT", "mqtt", kMqttPorts, probeMqtt, createMqtt, kMqttVersions};
  return info;
}

}  // namespace l7::mqtt
