#include "amqp/amqp_decoder.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "amqp/amqp_wire.h"
#include "l7/merge.h"
#include "l7/resync.h"
#include "l7/tracectx.h"

namespace l7::amqp {
namespace {

constexpr std::string_view kVersion = "0-9-1";
// The protocol-header exchange pairs on a lane no channel number reaches.
constexpr uint32_t kLaneHeader = 0x10000;
// Method frames the probe and the resync grammar read whole to judge them.
constexpr uint32_t kProbeFrameBytes = 64 * 1024;

uint8_t initiator(Direction dir) { return dir == Direction::kToServer ? 0 : 1; }

// Requests wait per channel and per initiating side: AMQP lets a peer have
// one synchronous request outstanding per channel, and both sides initiate
// (Connection.Start comes from the broker, Channel.Close from either).
PairKey requestKey(Direction dir, uint16_t channel) { return PairKey{channel, initiator(dir), 0}; }
PairKey answerKey(Direction dir, uint16_t channel) { return PairKey{channel, initiator(reverse(dir)), 0}; }

// Why a frame start at b[0] is not one (nullptr: it is, as far as b shows).
// `whole` says the frame's bytes are all in b.
struct FrameCheck {
  enum Kind : uint8_t { kNeedMore, kBad, kOk } kind = kNeedMore;
  FrameHeader h;
};

FrameCheck checkFrame(Bytes b, uint64_t max_size) {
  FrameCheck c;
  if (b.empty()) return c;
  if (!knownFrameType(b[0])) {
    c.kind = FrameCheck::kBad;
    return c;
  }
  if (!readFrameHeader(b, c.h)) return c;
  if (c.h.size > max_size) {
    c.kind = FrameCheck::kBad;
    return c;
  }
  c.kind = FrameCheck::kOk;
  return c;
}

// A whole method frame whose class and method are known (nullptr otherwise).
const MethodInfo* wholeMethod(Bytes frame, const FrameHeader& h) {
  if (h.type != static_cast<uint8_t>(FrameType::kMethod) || h.size < 4) return nullptr;
  ByteReader r(frame.subspan(kFrameHeaderBytes));
  uint16_t class_id = 0, method_id = 0;
  r.u16be(class_id);
  r.u16be(method_id);
  return findMethod(class_id, method_id);
}

class AmqpDecoder final : public Decoder {
 public:
  explicit AmqpDecoder(const DecoderLimits& limits)
      : limits_(limits),
        resync_{Resync({2, limits.max_buffered_bytes}), Resync({2, limits.max_buffered_bytes})} {
    table_limits_.max_entries = std::min<uint32_t>(limits.max_array_count, table_limits_.max_entries);
    max_contents_ = std::max<size_t>(1, std::min<size_t>(limits.max_pending, kMaxContents));
  }

  FeedResult feed(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    FeedResult result;
    size_t pos = 0;
    while (pos < tail.size()) {
      if (!resyncStep(resync_[d], Grammar(*this), tail, pos, limits_.max_buffered_bytes, result.needed)) break;
      const Bytes rest = tail.subspan(pos);
      if (foreign_) {
        // Another protocol was announced: its bytes are not ours to read,
        // but for the broker's answer to the offer: its own header
        // (refused), or its first frame (taken: RabbitMQ speaks 0-9 and 0-8).
        if (dir == Direction::kToClient && !offered_.empty() && !answered_) {
          if (isProtocolHeaderStart(rest)) {
            if (rest.size() < kProtocolHeaderBytes) break;
            protocolHeader(dir, rest.first(kProtocolHeaderBytes), tail_pos + pos, sink);
            pos += kProtocolHeaderBytes;
            continue;
          }
          Message m = base(MessageKind::kResponse, "Protocol-Header", tail_pos + pos, 0);
          m.key = PairKey{kLaneHeader, 0, 0};
          m.fields.version = offered_;
          m.fields.request_domain.clear();
          m.fields.response_result = "broker accepted AMQP " + offered_ + "; its frames are not decoded";
          answered_ = true;
          sink.onMessage(dir, std::move(m));
        }
        pos = tail.size();
        break;
      }
      if (rest[0] == 'A') {
        if (!isProtocolHeaderStart(rest)) {
          failure(dir, sink, tail_pos + pos, 1, "", "not an AMQP frame header");
          resync_[d].start();
          ++pos;
          continue;
        }
        if (rest.size() < kProtocolHeaderBytes) break;
        protocolHeader(dir, rest.first(kProtocolHeaderBytes), tail_pos + pos, sink);
        pos += kProtocolHeaderBytes;
        continue;
      }
      const FrameCheck check = checkFrame(rest, limits_.max_message_bytes);
      if (check.kind == FrameCheck::kNeedMore) break;
      if (check.kind == FrameCheck::kBad) {
        failure(dir, sink, tail_pos + pos, 1, "", "not an AMQP frame header");
        resync_[d].start();
        ++pos;
        continue;
      }
      const FrameHeader& h = check.h;
      const uint64_t total = h.total();
      if (total > limits_.max_buffered_bytes) {
        // Reported from its header; the rest passes unseen.
        const uint64_t have = std::min<uint64_t>(total, rest.size());
        dropContent(dir, h.channel, sink, "content cut by an oversized frame");
        failure(dir, sink, tail_pos + pos, clampWire(total), frameName(h), "frame over the buffering cap");
        pos += static_cast<size_t>(have);
        result.skip = total - have;
        break;
      }
      if (total > rest.size()) {
        result.needed = static_cast<uint32_t>(total);
        break;
      }
      if (rest[total - 1] != kFrameEnd) {
        failure(dir, sink, tail_pos + pos, clampWire(total), frameName(h), "frame end is not 0xCE");
        resync_[d].start();
        ++pos;
        continue;
      }
      if (total > frameMax()) {
        dropContent(dir, h.channel, sink, "content cut by a frame over frame_max");
        failure(dir, sink, tail_pos + pos, clampWire(total), frameName(h), "frame larger than the negotiated frame_max");
        pos += static_cast<size_t>(total);
        continue;
      }
      decodeFrame(dir, h, rest.subspan(kFrameHeaderBytes, h.size), tail_pos + pos, static_cast<uint32_t>(total), sink);
      pos += static_cast<size_t>(total);
    }
    result.consumed = static_cast<uint32_t>(pos);
    result.holds_from = holdsFrom(dir);
    return result;
  }

  // Whole frames held are decoded as at the end; content cut by the loss
  // is reported as far as it came, and its rest passed over.
  void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept override {
    if (!held.empty()) decodeToEnd(dir, held, pos, sink);
    closeContents(dir, sink, "content cut by lost bytes");
    lost_[static_cast<int>(dir)] = true;
    synced_[static_cast<int>(dir)].clear();
    resync_[static_cast<int>(dir)].start();
  }

  void onEof(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const size_t pos = decodeToEnd(dir, tail, tail_pos, sink);
    closeContents(dir, sink, "stream ended inside a content");
    if (pos < tail.size() && !resync_[static_cast<int>(dir)].active() && !foreign_) {
      failure(dir, sink, tail_pos + pos, clampWire(tail.size() - pos), "", "stream ended inside a frame");
    }
  }

 private:
  // Channels with content in flight per connection (both directions).
  static constexpr size_t kMaxContents = 256;

  // One message's content on one channel of one direction: its method
  // (held until the content header, whose trace it takes), the header, then
  // body frames until body_size bytes came.
  struct Content {
    Direction dir;
    uint16_t channel;
    std::optional<Message> method;
    bool header_seen = false;
    bool over_cap = false;
    uint64_t body_size = 0;
    uint64_t body_seen = 0;
    uint64_t body_pos = kHoldsNothing;  // its first body frame
    uint64_t body_wire = 0;
    std::string trace_id, span_id;
  };

  // AMQP's grammar for the resynchronization engine: a known frame type, a
  // size under the caps, and the 0xCE frame end where the size says. A
  // method frame of a known class and method, or a protocol header, is
  // checked enough to stand alone.
  struct Grammar final : FrameGrammar {
    explicit Grammar(const AmqpDecoder& d) : self(d) {}
    FrameGuess guess(Bytes data, size_t at) const noexcept override {
      const Bytes b = data.subspan(at);
      if (!b.empty() && b[0] == 'A') {
        if (b.size() < kProtocolHeaderBytes) return isProtocolHeaderStart(b) ? FrameGuess::needMore(8) : FrameGuess::no();
        return isProtocolHeaderStart(b) && readProtocolHeader(b.first(8)).amqp091 ? FrameGuess::sureFrame(8)
                                                                                   : FrameGuess::no();
      }
      const FrameCheck c = checkFrame(b, std::min<uint64_t>(self.frameMax(), self.limits_.max_buffered_bytes));
      if (c.kind == FrameCheck::kNeedMore) return FrameGuess::needMore(kFrameHeaderBytes);
      if (c.kind == FrameCheck::kBad) return FrameGuess::no();
      const FrameHeader& h = c.h;
      if (h.type == static_cast<uint8_t>(FrameType::kHeartbeat) && (h.size != 0 || h.channel != 0)) return FrameGuess::no();
      if (h.type == static_cast<uint8_t>(FrameType::kMethod) && h.size < 4) return FrameGuess::no();
      if (h.type == static_cast<uint8_t>(FrameType::kHeader) && h.size < 14) return FrameGuess::no();
      if (h.type == static_cast<uint8_t>(FrameType::kMethod) && b.size() >= kFrameHeaderBytes + 4) {
        ByteReader r(b.subspan(kFrameHeaderBytes));
        uint16_t class_id = 0, method_id = 0;
        r.u16be(class_id);
        r.u16be(method_id);
        if (findMethod(class_id, method_id) == nullptr) return FrameGuess::no();
      }
      if (b.size() < h.total()) return FrameGuess::needMore(h.total());
      if (b[h.total() - 1] != kFrameEnd) return FrameGuess::no();
      return h.type == static_cast<uint8_t>(FrameType::kMethod) ? FrameGuess::sureFrame(h.total())
                                                                 : FrameGuess::frame(h.total());
    }
    const AmqpDecoder& self;
  };

  static uint32_t clampWire(uint64_t n) { return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX)); }

  // frame_max from Connection.Tune (the broker's offer) or TuneOk (what the
  // client took); 0 there means "no limit", and never below the spec's
  // frame-min-size; the decoder's caps apply whatever it says.
  uint64_t frameMax() const {
    const uint64_t cap = limits_.max_message_bytes;
    if (frame_max_ == 0) return cap;
    return std::min<uint64_t>(cap, std::max<uint32_t>(frame_max_, kFrameMinSize));
  }

  static std::string_view frameName(const FrameHeader& h) {
    switch (static_cast<FrameType>(h.type)) {
      case FrameType::kMethod: return "";
      case FrameType::kHeader: return "Content-Header";
      case FrameType::kBody: return "Content-Body";
      case FrameType::kHeartbeat: return "Heartbeat";
    }
    return "";
  }

  size_t decodeToEnd(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) {
    const int d = static_cast<int>(dir);
    size_t pos = 0;
    if (!resyncAtEnd(resync_[d], Grammar(*this), tail, pos)) return tail.size();
    if (pos < tail.size()) pos += feed(dir, tail.subspan(pos), tail_pos + pos, sink).consumed;
    return pos;
  }

  uint64_t holdsFrom(Direction dir) const {
    uint64_t from = kHoldsNothing;
    for (const Content& c : contents_) {
      if (c.dir != dir) continue;
      if (c.method) from = std::min(from, c.method->pos);
      from = std::min(from, c.body_pos);
    }
    return from;
  }

  Message base(MessageKind kind, std::string_view type, uint64_t pos, uint32_t wire) const {
    Message m;
    m.kind = kind;
    m.pos = pos;
    m.wire_size = wire;
    m.fields.version = std::string(kVersion);
    m.fields.request_type = std::string(type);
    m.fields.request_domain = vhost_;
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    return m;
  }

  void failure(Direction dir, MessageSink& sink, uint64_t pos, uint32_t wire, std::string_view type,
               std::string_view why) const {
    Message m = base(MessageKind::kOneWay, type, pos, wire);
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::string(why);
    sink.onMessage(dir, std::move(m));
  }

  void protocolHeader(Direction dir, Bytes eight, uint64_t pos, MessageSink& sink) {
    const ProtocolHeader ph = readProtocolHeader(eight);
    if (dir == Direction::kToServer) {
      if (ph.amqp091) {
        Message m = base(MessageKind::kOneWay, "Protocol-Header", pos, kProtocolHeaderBytes);
        sink.onMessage(dir, std::move(m));
        return;
      }
      // One record for another protocol's opening, answered by the broker's
      // header if it refuses; nothing after it is read.
      foreign_ = true;
      offered_ = ph.version;
      Message m = base(MessageKind::kRequest, "Protocol-Header", pos, kProtocolHeaderBytes);
      m.key = PairKey{kLaneHeader, 0, 0};
      m.fields.version = ph.version;
      m.fields.request_domain.clear();
      m.fields.request_length = kProtocolHeaderBytes;
      sink.onMessage(dir, std::move(m));
      return;
    }
    if (foreign_ && !offered_.empty() && !answered_) {
      answered_ = true;
      Message m = base(MessageKind::kResponse, "Protocol-Header", pos, kProtocolHeaderBytes);
      m.key = PairKey{kLaneHeader, 0, 0};
      m.fields.version = ph.version;
      m.fields.request_domain.clear();
      m.fields.response_length = kProtocolHeaderBytes;
      if (ph.version != offered_) {
        m.fields.response_status = ResponseStatus::kClientError;
        m.fields.response_exception = "protocol header refused: the broker offers AMQP " + ph.version;
      }
      sink.onMessage(dir, std::move(m));
      return;
    }
    Message m = base(MessageKind::kOneWay, "Protocol-Header", pos, kProtocolHeaderBytes);
    m.fields.version = ph.version;
    if (!ph.amqp091) foreign_ = true;
    sink.onMessage(dir, std::move(m));
  }

  Content* findContent(Direction dir, uint16_t channel) {
    for (Content& c : contents_) {
      if (c.dir == dir && c.channel == channel) return &c;
    }
    return nullptr;
  }

  void eraseContent(Content* c) { contents_.erase(contents_.begin() + (c - contents_.data())); }

  // The content of (dir, channel) ends before its body did: its method is
  // written as it is, and a body begun is reported as cut.
  void finishCut(Content& c, MessageSink& sink, std::string_view why) {
    if (c.method) sink.onMessage(c.dir, std::move(*c.method));
    if (c.body_pos != kHoldsNothing) {
      Message m = base(MessageKind::kOneWay, "Content-Body", c.body_pos, clampWire(c.body_wire));
      m.fields.response_status = ResponseStatus::kParseFailed;
      m.fields.response_exception = std::string(why);
      sink.onMessage(c.dir, std::move(m));
    }
  }

  void dropContent(Direction dir, uint16_t channel, MessageSink& sink, std::string_view why) {
    if (Content* c = findContent(dir, channel)) {
      finishCut(*c, sink, why);
      eraseContent(c);
    }
  }

  void closeContents(Direction dir, MessageSink& sink, std::string_view why) {
    for (size_t i = 0; i < contents_.size();) {
      if (contents_[i].dir != dir) {
        ++i;
        continue;
      }
      finishCut(contents_[i], sink, why);
      contents_.erase(contents_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }

  void decodeFrame(Direction dir, const FrameHeader& h, Bytes payload, uint64_t pos, uint32_t wire, MessageSink& sink) {
    switch (static_cast<FrameType>(h.type)) {
      case FrameType::kHeartbeat: {
        if (h.channel != 0 || h.size != 0) {
          return failure(dir, sink, pos, wire, "Heartbeat", "heartbeat not on channel 0 or not empty");
        }
        sink.onMessage(dir, base(MessageKind::kOneWay, "Heartbeat", pos, wire));
        return;
      }
      case FrameType::kMethod: return decodeMethodFrame(dir, h, payload, pos, wire, sink);
      case FrameType::kHeader: return decodeHeaderFrame(dir, h, payload, pos, wire, sink);
      case FrameType::kBody: return decodeBodyFrame(dir, h, pos, wire, sink);
    }
  }

  // Whether content frames of (dir, channel) may belong to a message whose
  // method was lost or before the capture: only until a method frame of
  // that channel is decoded after the loss.
  bool mayBeginUnseen(Direction dir, uint16_t channel) const {
    const int d = static_cast<int>(dir);
    return lost_[d] && std::find(synced_[d].begin(), synced_[d].end(), channel) == synced_[d].end();
  }

  void markSynced(Direction dir, uint16_t channel) {
    std::vector<uint16_t>& synced = synced_[static_cast<int>(dir)];
    if (mayBeginUnseen(dir, channel) && synced.size() < max_contents_) synced.push_back(channel);
  }

  void decodeMethodFrame(Direction dir, const FrameHeader& h, Bytes payload, uint64_t pos, uint32_t wire,
                         MessageSink& sink) {
    markSynced(dir, h.channel);
    ByteReader r(payload);
    uint16_t class_id = 0, method_id = 0;
    if (!r.u16be(class_id) || !r.u16be(method_id)) {
      return failure(dir, sink, pos, wire, "", "method frame shorter than its class and method ids");
    }
    // A method ends the content its channel had in flight (the spec allows
    // no other frame of that channel inside a content).
    dropContent(dir, h.channel, sink, "content cut by a method frame");
    const MethodInfo* info = findMethod(class_id, method_id);
    if (info == nullptr) {
      return failure(dir, sink, pos, wire, className(class_id), "unknown class or method");
    }
    decodeMethod(dir, *info, h.channel, r, pos, wire, sink);
  }

  // Arguments of every method (amqp0-9-1.xml), read in full so a frame
  // that lies about them is caught; the ones the table maps are kept.
  void decodeMethod(Direction dir, const MethodInfo& info, uint16_t channel, ByteReader& r, uint64_t pos, uint32_t wire,
                    MessageSink& sink) {
    std::string_view exchange, routing_key, queue, text, ignored;
    uint16_t code = 0, u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    uint8_t bits = 0;
    bool no_wait = false;
    bool ok = true;
    const char* table_error = nullptr;
    auto sh = [&](std::string_view& out) { ok = ok && readShortStr(r, out); };
    auto ls = [&](std::string_view& out) { ok = ok && readLongStr(r, out); };
    auto s16 = [&](uint16_t& out) { ok = ok && r.u16be(out); };
    auto s32 = [&](uint32_t& out) { ok = ok && r.u32be(out); };
    auto s64 = [&] { ok = ok && r.u64be(u64); };
    auto bit = [&] { ok = ok && r.u8(bits); };
    auto table = [&] {
      if (!ok || table_error != nullptr) return;
      table_error = readFieldTable(r, table_limits_, [](std::string_view, std::string_view) {});
    };
    std::optional<std::string> vhost;
    std::optional<uint32_t> frame_max;
    switch (info.class_id * 1000 + info.method_id) {
      case 10010: {  // Connection.Start
        uint8_t major = 0, minor = 0;
        ok = r.u8(major) && r.u8(minor);
        table();
        ls(ignored);
        ls(ignored);
        break;
      }
      case 10011: table(); sh(ignored); ls(ignored); sh(ignored); break;
      case 10020: case 10021: ls(ignored); break;
      case 10030: case 10031:
        s16(u16);
        s32(u32);
        s16(u16);
        if (ok) frame_max = u32;
        break;
      case 10040:
        sh(text);
        sh(ignored);
        bit();
        if (ok) vhost = std::string(text);
        break;
      case 10041: sh(ignored); break;
      case 10050: case 20040: s16(code); sh(text); s16(u16); s16(u16); break;
      case 10060: sh(text); break;
      case 10070: ls(ignored); sh(ignored); break;
      case 20010: sh(ignored); break;
      case 20011: ls(ignored); break;
      case 20020: case 20021: bit(); break;
      case 40010:  // Exchange.Declare: no-wait is bit 4
        s16(u16); sh(exchange); sh(ignored); bit(); table();
        no_wait = (bits & 0x10) != 0;
        break;
      case 40020: s16(u16); sh(exchange); bit(); no_wait = (bits & 0x02) != 0; break;
      case 40030: case 40040:  // Exchange.Bind/Unbind: destination, source, routing key
        s16(u16); sh(ignored); sh(ignored); sh(routing_key); bit(); table();
        no_wait = (bits & 0x01) != 0;
        break;
      case 50010: s16(u16); sh(queue); bit(); table(); no_wait = (bits & 0x10) != 0; break;
      case 50011: sh(queue); s32(u32); s32(u32); break;
      case 50020: s16(u16); sh(queue); sh(exchange); sh(routing_key); bit(); table(); no_wait = (bits & 0x01) != 0; break;
      case 50030: s16(u16); sh(queue); bit(); no_wait = (bits & 0x01) != 0; break;
      case 50031: case 50041: s32(u32); break;
      case 50040: s16(u16); sh(queue); bit(); no_wait = (bits & 0x04) != 0; break;
      case 50050: s16(u16); sh(queue); sh(exchange); sh(routing_key); table(); break;
      case 60010: s32(u32); s16(u16); bit(); break;
      case 60020: s16(u16); sh(queue); sh(ignored); bit(); table(); no_wait = (bits & 0x08) != 0; break;
      case 60021: case 60031: sh(ignored); break;
      case 60030: sh(ignored); bit(); no_wait = (bits & 0x01) != 0; break;
      case 60040: s16(u16); sh(exchange); sh(routing_key); bit(); break;
      case 60050: s16(code); sh(text); sh(exchange); sh(routing_key); break;
      case 60060: sh(ignored); s64(); bit(); sh(exchange); sh(routing_key); break;
      case 60070: s16(u16); sh(queue); bit(); break;
      case 60071: s64(); bit(); sh(exchange); sh(routing_key); s32(u32); break;
      case 60072: sh(ignored); break;
      case 60080: case 60090: case 60120: s64(); bit(); break;
      case 60100: case 60110: bit(); break;
      case 85010: bit(); no_wait = (bits & 0x01) != 0; break;
      default: break;  // no arguments
    }
    if (!ok) return failure(dir, sink, pos, wire, info.name, "method arguments truncated");
    if (table_error != nullptr) return failure(dir, sink, pos, wire, info.name, table_error);
    if (vhost) vhost_ = *vhost;
    if (frame_max) frame_max_ = *frame_max;

    MessageKind kind = MessageKind::kOneWay;
    if (info.role == MethodRole::kRequest && !no_wait) kind = MessageKind::kRequest;
    if (info.role == MethodRole::kResponse) kind = MessageKind::kResponse;
    Message m = base(kind, info.name, pos, wire);
    if (kind == MessageKind::kRequest) {
      m.key = requestKey(dir, channel);
      m.context = uint64_t{info.class_id} << 16 | info.method_id;
      m.fields.request_length = wire;
    } else if (kind == MessageKind::kResponse) {
      m.key = answerKey(dir, channel);
      m.fields.response_length = wire;
    }
    if (!exchange.empty() || !routing_key.empty()) {
      m.fields.request_resource = std::string(exchange) + "." + std::string(routing_key);
    } else {
      m.fields.request_resource = std::string(queue);
    }
    m.fields.endpoint = m.fields.request_resource;

    const bool is_close = info.class_id * 1000 + info.method_id == 10050 || info.class_id * 1000 + info.method_id == 20040;
    if (is_close || info.class_id * 1000 + info.method_id == 60050) {
      const ReplyInfo reply = replyInfo(code);
      const auto status = static_cast<ResponseStatus>(reply.status);
      m.fields.response_code = code;
      if (is_close && status != ResponseStatus::kOk && sink.pendingContext(answerKey(dir, channel))) {
        // A close with an error answers the request it refuses, then starts
        // its own close exchange, which its -Ok completes normally.
        Message answer = base(MessageKind::kResponse, info.name, pos, wire);
        answer.key = answerKey(dir, channel);
        answer.fields.response_code = code;
        answer.fields.response_status = status;
        answer.fields.response_exception = std::string(text);
        answer.fields.response_length = wire;
        sink.onMessage(dir, std::move(answer));
        m.fields.response_result = std::string(text);
      } else if (status == ResponseStatus::kOk) {
        m.fields.response_status = ResponseStatus::kOk;
        m.fields.response_result = std::string(text);
      } else {
        m.fields.response_status = status;
        m.fields.response_exception = std::string(text);
      }
    }
    if (info.carries_content) return openContent(dir, channel, std::move(m), sink);
    sink.onMessage(dir, std::move(m));
  }

  void openContent(Direction dir, uint16_t channel, Message&& method, MessageSink& sink) {
    if (contents_.size() >= max_contents_) {
      const uint64_t pos = method.pos;
      sink.onMessage(dir, std::move(method));
      return failure(dir, sink, pos, 0, "Content-Header", "too many channels with content in flight");
    }
    Content c{dir, channel};
    c.method = std::move(method);
    contents_.push_back(std::move(c));
  }

  void decodeHeaderFrame(Direction dir, const FrameHeader& h, Bytes payload, uint64_t pos, uint32_t wire,
                         MessageSink& sink) {
    Content* c = findContent(dir, h.channel);
    if (c != nullptr && c->header_seen) {
      dropContent(dir, h.channel, sink, "content cut by another content header");
      c = nullptr;
    }
    ByteReader r(payload);
    uint16_t class_id = 0, weight = 0, flags = 0;
    uint64_t body_size = 0;
    const char* why = nullptr;
    std::string_view traceparent, sw8;
    if (!r.u16be(class_id) || !r.u16be(weight) || !r.u64be(body_size) || !r.u16be(flags)) {
      why = "content header truncated";
    } else if (class_id != 60) {
      why = "content header of a class other than Basic";
    } else if (weight != 0) {
      why = "content header weight is not 0";
    } else if ((flags & 0x0001) != 0) {
      why = "Basic has no property flags beyond the first word";
    } else {
      why = readProperties(r, flags, traceparent, sw8);
    }
    if (c == nullptr && !mayBeginUnseen(dir, h.channel) && why == nullptr) {
      // In sync since the start, a header needs its content method first.
      why = "content header without a content method";
    }
    if (why != nullptr) {
      if (c != nullptr) dropContent(dir, h.channel, sink, why);
      return failure(dir, sink, pos, wire, "Content-Header", why);
    }
    Message header = base(MessageKind::kOneWay, "Content-Header", pos, wire);
    if (!traceparent.empty()) tracectx::applyTraceHeader("traceparent", traceparent, header.fields);
    if (!sw8.empty()) tracectx::applyTraceHeader("sw8", sw8, header.fields);
    if (c == nullptr) {
      // Joined after its method (or after lost bytes): the header is still
      // decoded and its body followed.
      if (contents_.size() >= max_contents_) {
        return failure(dir, sink, pos, wire, "Content-Header", "too many channels with content in flight");
      }
      contents_.push_back(Content{dir, h.channel});
      c = &contents_.back();
    }
    if (c->method) {
      // The trace is the message's: its method record carries it too.
      c->method->fields.addTraceId(header.fields.trace_id);
      c->method->fields.addTraceId(header.fields.trace_id_2);
      if (c->method->fields.span_id.empty()) c->method->fields.span_id = header.fields.span_id;
      sink.onMessage(dir, std::move(*c->method));
      c->method.reset();
    }
    c->header_seen = true;
    c->body_size = body_size;
    c->over_cap = body_size > limits_.max_message_bytes;
    if (c->over_cap) {
      header.fields.response_status = ResponseStatus::kParseFailed;
      header.fields.response_exception = "body size over the cap";
    }
    sink.onMessage(dir, std::move(header));
    if (body_size == 0) eraseContent(c);
  }

  // Basic's properties (flags bit 15 first), each read and checked.
  const char* readProperties(ByteReader& r, uint16_t flags, std::string_view& traceparent, std::string_view& sw8) {
    std::string_view s;
    uint8_t octet = 0;
    uint64_t stamp = 0;
    for (int bit = 15; bit >= 2; --bit) {
      if ((flags & (1u << bit)) == 0) continue;
      bool ok = true;
      switch (bit) {
        case 13: {
          const char* why = readFieldTable(r, table_limits_, [&](std::string_view name, std::string_view value) {
            if (name == "traceparent" && traceparent.empty()) traceparent = value;
            if (name == "sw8" && sw8.empty()) sw8 = value;
          });
          if (why != nullptr) return why;
          break;
        }
        case 12: case 11: ok = r.u8(octet); break;
        case 6: ok = r.u64be(stamp); break;
        default: ok = readShortStr(r, s); break;
      }
      if (!ok) return "content header properties truncated";
    }
    if ((flags & 0x0002) != 0) return "reserved property flag set";
    return nullptr;
  }

  void decodeBodyFrame(Direction dir, const FrameHeader& h, uint64_t pos, uint32_t wire, MessageSink& sink) {
    Content* c = findContent(dir, h.channel);
    if (c == nullptr || !c->header_seen) {
      // Joined (or resynchronized) inside a body: its rest is passed over.
      if (c == nullptr && mayBeginUnseen(dir, h.channel)) return;
      if (c != nullptr) dropContent(dir, h.channel, sink, "body frame before the content header");
      return failure(dir, sink, pos, wire, "Content-Body", "body frame without a content header");
    }
    if (c->body_pos == kHoldsNothing) c->body_pos = pos;
    c->body_wire += wire;
    c->body_seen += h.size;
    if (c->body_seen < c->body_size) return;
    // The last frame: one record for the whole body, at its first frame.
    Message m = base(MessageKind::kOneWay, "Content-Body", c->body_pos, clampWire(c->body_wire));
    if (c->body_seen > c->body_size) {
      m.fields.response_status = ResponseStatus::kParseFailed;
      m.fields.response_exception = "body frames exceed the header's body size";
    } else if (c->over_cap) {
      m.fields.response_status = ResponseStatus::kParseFailed;
      m.fields.response_exception = "body size over the cap";
    }
    eraseContent(c);
    sink.onMessage(dir, std::move(m));
  }

  DecoderLimits limits_;
  TableLimits table_limits_;
  size_t max_contents_ = kMaxContents;
  Resync resync_[2];
  std::string vhost_;
  uint32_t frame_max_ = 0;
  bool foreign_ = false;       // another protocol's header was seen: nothing more is read
  std::string offered_;        // the version the client's foreign header offered
  bool answered_ = false;      // the broker answered that offer
  bool lost_[2] = {false, false};  // the side lost bytes (or joined late): content may begin unseen
  // Channels of a side that lost bytes whose content is followed again: a
  // method frame was decoded on them since (at most max_contents_ kept).
  std::vector<uint16_t> synced_[2];
  std::vector<Content> contents_;  // at most max_contents_
};

// A Close request keeps its own reply (code, text, status) when its -Ok,
// which carries none, completes it.
void amqpMerge(Record& request, Record&& response) {
  const std::optional<int64_t> code = request.f.response_code;
  const ResponseStatus status = request.f.response_status;
  std::string result = request.f.response_result;
  std::string exception = request.f.response_exception;
  const bool answer_has_reply = response.f.response_code.has_value();
  mergeResponse(request, std::move(response));
  if (code && !answer_has_reply) {
    request.f.response_code = code;
    if (status != ResponseStatus::kUnknown) request.f.response_status = status;
    if (request.f.response_result.empty()) request.f.response_result = std::move(result);
    if (request.f.response_exception.empty()) request.f.response_exception = std::move(exception);
  }
}

std::unique_ptr<Decoder> createAmqp(const DecoderLimits& limits) { return std::make_unique<AmqpDecoder>(limits); }

constexpr uint16_t kAmqpPorts[] = {5672};
constexpr std::string_view kAmqpVersions[] = {"0-9-1"};

}  // namespace

ProbeVerdict probeAmqp(Bytes first_bytes) noexcept {
  if (first_bytes.empty()) return ProbeVerdict::kNeedMore;
  if (first_bytes[0] == 'A') {
    if (!isProtocolHeaderStart(first_bytes)) return ProbeVerdict::kNo;
    return first_bytes.size() < kProtocolHeaderBytes ? ProbeVerdict::kNeedMore : ProbeVerdict::kFromClient;
  }
  // Mid-stream: a whole method frame of a known class and method names its
  // sender where only one side may send it; a heartbeat or a method both
  // sides send says AMQP but not who is the client.
  const uint8_t type = first_bytes[0];
  if (type != static_cast<uint8_t>(FrameType::kMethod) && type != static_cast<uint8_t>(FrameType::kHeartbeat)) {
    return ProbeVerdict::kNo;
  }
  FrameHeader h;
  if (!readFrameHeader(first_bytes, h)) return ProbeVerdict::kNeedMore;
  if (h.size > kProbeFrameBytes) return ProbeVerdict::kNo;
  if (first_bytes.size() < h.total()) return ProbeVerdict::kNeedMore;
  if (first_bytes[h.total() - 1] != kFrameEnd) return ProbeVerdict::kNo;
  if (type == static_cast<uint8_t>(FrameType::kHeartbeat)) {
    return h.size == 0 && h.channel == 0 ? ProbeVerdict::kEitherSide : ProbeVerdict::kNo;
  }
  const MethodInfo* m = wholeMethod(first_bytes, h);
  if (m == nullptr) return ProbeVerdict::kNo;
  switch (m->sender) {
    case Sender::kClient: return ProbeVerdict::kFromClient;
    case Sender::kServer: return ProbeVerdict::kFromServer;
    case Sender::kBoth: return ProbeVerdict::kEitherSide;
  }
  return ProbeVerdict::kNo;
}

const DecoderInfo& amqpDecoderInfo() {
  static const DecoderInfo info{L7Protocol::kAmqp, "AMQP", "amqp", kAmqpPorts, probeAmqp, createAmqp, kAmqpVersions,
                                amqpMerge};
  return info;
}

}  // namespace l7::amqp
