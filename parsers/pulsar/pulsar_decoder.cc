#include "pulsar/pulsar_decoder.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "l7/merge.h"
#include "l7/resync.h"
#include "pulsar/pulsar_commands.h"
#include "pulsar/pulsar_payload.h"
#include "pulsar/pulsar_proto.h"

namespace l7::pulsar {
namespace {

// totalSize(4) commandSize(4): every frame starts so.
constexpr size_t kSizesBytes = 8;
// BaseCommand.type
constexpr uint32_t kTypeField = 1;
// Types the resynchronization takes for a frame start: the schema's reach
// 68; room for later ones, not for any varint.
constexpr uint64_t kMaxGuessedType = 1000;

// Pairing spaces (PairKey::lane).
enum Lane : uint32_t { kLaneRequestId = 1, kLaneSend, kLaneConnect, kLaneAuth, kLanePingFromClient, kLanePingFromServer };

struct Sizes {
  uint32_t total = 0;    // bytes after the totalSize field
  uint32_t command = 0;  // BaseCommand bytes
  uint64_t frame() const { return uint64_t{total} + 4; }
  bool hasPayload() const { return total > uint64_t{command} + 4; }
};

enum class SizeCheck : uint8_t { kNeedMore, kBad, kOk };

SizeCheck readSizes(Bytes b, uint64_t cap, Sizes& s) {
  if (b.size() < kSizesBytes) return SizeCheck::kNeedMore;
  ByteReader r(b);
  r.u32be(s.total);
  r.u32be(s.command);
  if (s.command < 2 || uint64_t{s.command} + 4 > s.total || s.total > cap) return SizeCheck::kBad;
  return SizeCheck::kOk;
}

// Only SEND and MESSAGE carry a payload part. Bytes after any other known
// command mean the sizes are no frame's (a claim read inside other bytes,
// or a corrupt header): the framing is lost, rather than the claimed bytes
// swallowed with every frame inside them.
bool carriesPayload(uint64_t t) {
  return t == type::kSend || t == type::kMessage || findCommand(t) == nullptr;
}

// The BaseCommand's type when it is the first field, as clients write it.
SizeCheck peekType(Bytes frame, const Sizes& s, uint64_t& t) {
  const size_t probe = std::min<size_t>(s.command, 11);
  if (frame.size() < kSizesBytes + probe) return SizeCheck::kNeedMore;
  ByteReader r(frame.subspan(kSizesBytes, probe));
  uint8_t tag = 0;
  if (!r.u8(tag) || tag != 0x08 || !pb::readVarint(r, t)) return SizeCheck::kBad;
  return SizeCheck::kOk;
}

// BaseCommand: its type and the sub-message numbered like it.
struct Base {
  uint64_t type = 0;
  bool has_sub = false;
  Bytes sub{};
  std::string_view error;  // malformed wire, or no type
};

Base readBase(Bytes command) {
  Base b;
  pb::Reader first(command);
  pb::Field f;
  bool typed = false;
  while (first.next(f)) {
    if (f.number == kTypeField && f.wire == pb::kVarint) {
      b.type = f.varint;
      typed = true;
    }
  }
  if (first.failed()) {
    b.error = first.error();
    return b;
  }
  if (!typed) {
    b.error = "BaseCommand without its type";
    return b;
  }
  pb::Reader second(command);
  while (second.next(f)) {
    if (f.number == b.type && f.wire == pb::kLen) {
      b.has_sub = true;
      b.sub = f.bytes;
      return b;
    }
  }
  return b;
}

// Which side sends a type (the probe's answer); PING and PONG go both ways.
ProbeVerdict senderOf(const CommandSpec& spec) {
  switch (spec.type) {
    case type::kPing:
    case type::kPong: return ProbeVerdict::kEitherSide;
    case 36: return ProbeVerdict::kFromServer;  // AUTH_CHALLENGE
    case 37: return ProbeVerdict::kFromClient;  // AUTH_RESPONSE
    case type::kMessage:
    case 27: case 31: case 38: case 65: case 66: case type::kTopicMigrated: return ProbeVerdict::kFromServer;
    default: break;
  }
  if (spec.kind == Kind::kResponse) return ProbeVerdict::kFromServer;
  return ProbeVerdict::kFromClient;
}

// A frame start for the shared resynchronization engine: sane sizes, then
// the BaseCommand's first bytes: tag 0x08, a plausible type, and (when the
// command holds more) the tag of the sub-message numbered like the type.
struct Grammar final : FrameGrammar {
  explicit Grammar(uint64_t cap) : cap(cap) {}
  FrameGuess guess(Bytes data, size_t at) const noexcept override {
    const Bytes b = data.subspan(at);
    Sizes s;
    switch (readSizes(b, cap, s)) {
      case SizeCheck::kNeedMore: return FrameGuess::needMore(kSizesBytes + 4);
      case SizeCheck::kBad: return FrameGuess::no();
      case SizeCheck::kOk: break;
    }
    const size_t probe = std::min<size_t>(s.command, 4);
    if (b.size() < kSizesBytes + probe) return FrameGuess::needMore(kSizesBytes + probe);
    ByteReader r(b.subspan(kSizesBytes, probe));
    uint8_t tag = 0;
    uint64_t t = 0, sub_tag = 0;
    // Any type, known or not (an unknown one is a record too), but the
    // sub-message that follows must be numbered like it.
    if (!r.u8(tag) || tag != 0x08 || !pb::readVarint(r, t) || t < 2 || t > kMaxGuessedType) return FrameGuess::no();
    if (s.hasPayload() && !carriesPayload(t)) return FrameGuess::no();
    if (r.position() < s.command && r.remaining() > 0 && (!pb::readVarint(r, sub_tag) || sub_tag != (t << 3 | 2))) {
      return FrameGuess::no();
    }
    return FrameGuess::frame(s.frame());
  }
  uint64_t cap;
};

class PulsarDecoder final : public Decoder {
 public:
  explicit PulsarDecoder(const DecoderLimits& limits)
      : limits_(limits),
        cap_(std::min(limits.max_message_bytes, kDefaultMaxMessageSize + kFramePadding)),
        resync_{Resync({2, limits.max_buffered_bytes}), Resync({2, limits.max_buffered_bytes})} {
    caps_.max_batch_entries = limits.max_array_count;
  }

  FeedResult feed(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    Resync& resync = resync_[static_cast<int>(dir)];
    FeedResult result;
    size_t pos = 0;
    while (pos < tail.size()) {
      if (!resyncStep(resync, Grammar(cap_), tail, pos, limits_.max_buffered_bytes, result.needed)) break;
      const Bytes rest = tail.subspan(pos);
      Sizes s;
      const SizeCheck check = readSizes(rest, cap_, s);
      if (check == SizeCheck::kNeedMore) break;
      if (check == SizeCheck::kBad) {
        failure(dir, sink, tail_pos + pos, kSizesBytes,
                s.total > cap_ ? "frame over the size cap (" + std::to_string(cap_) + " bytes)" : "not a Pulsar frame");
        resync.start();
        ++pos;
        continue;
      }
      if (s.hasPayload()) {
        uint64_t t = 0;
        const SizeCheck typed = peekType(rest, s, t);
        if (typed == SizeCheck::kNeedMore) break;
        if (typed == SizeCheck::kOk && !carriesPayload(t)) {
          failure(dir, sink, tail_pos + pos, kSizesBytes,
                  std::string(commandName(t)) + " with a payload part (only SEND and MESSAGE carry one)");
          resync.start();
          ++pos;
          continue;
        }
      }
      if (s.frame() > limits_.max_buffered_bytes) {
        // Too large to hold: decoded from the prefix holding its command,
        // the rest passed over unseen (its checksum cannot be verified).
        // The prefix is always the buffering cap, however the bytes came,
        // so what it shows (the metadata's trace ids) does not depend on
        // segmentation.
        const uint64_t head = kSizesBytes + s.command;
        if (head > limits_.max_buffered_bytes) {
          failure(dir, sink, tail_pos + pos, kSizesBytes, "BaseCommand over the buffering cap");
          resync.start();
          ++pos;
          continue;
        }
        const size_t taken = limits_.max_buffered_bytes;
        if (rest.size() < taken) {
          result.needed = static_cast<uint32_t>(taken);
          break;
        }
        decodeFrame(dir, s, rest.first(taken), false, tail_pos + pos, sink);
        result.skip = s.frame() - taken;
        pos += taken;
        break;
      }
      if (s.frame() > rest.size()) {
        result.needed = static_cast<uint32_t>(s.frame());
        break;
      }
      if (waitsForPeer(dir, s, rest)) {
        holding_[static_cast<int>(dir)] = true;
        break;
      }
      if (!decodeFrame(dir, s, rest.first(static_cast<size_t>(s.frame())), true, tail_pos + pos, sink)) {
        resync.start();
        ++pos;
        continue;
      }
      pos += static_cast<size_t>(s.frame());
    }
    result.consumed = static_cast<uint32_t>(pos);
    // The peer held a frame for this side's resynchronization, which is
    // now decided: the peer goes on (with the topics learned meanwhile).
    const int peer = 1 - static_cast<int>(dir);
    if (holding_[peer] && !resync.waiting()) {
      holding_[peer] = false;
      result.wake_peer = true;
    }
    return result;
  }

  void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept override {
    decodeToEnd(dir, held, pos, sink);
    resync_[static_cast<int>(dir)].start();
  }

  void onEof(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const size_t pos = decodeToEnd(dir, tail, tail_pos, sink);
    if (pos < tail.size() && !resync_[static_cast<int>(dir)].active()) {
      failure(dir, sink, tail_pos + pos, static_cast<uint32_t>(tail.size() - pos), "stream ended inside a frame");
    }
  }

 private:
  // Nothing more comes: a resynchronization decides on what is held, and
  // whole frames are decoded. Returns where decoding stopped.
  size_t decodeToEnd(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) {
    Resync& resync = resync_[static_cast<int>(dir)];
    size_t pos = 0;
    if (!resyncAtEnd(resync, Grammar(cap_), tail, pos)) return tail.size();
    flushing_[static_cast<int>(dir)] = true;
    if (pos < tail.size()) pos += feed(dir, tail.subspan(pos), tail_pos + pos, sink).consumed;
    flushing_[static_cast<int>(dir)] = false;
    return pos;
  }

  // A producer's or consumer's command whose topic is unknown while the
  // other side is resynchronizing (a capture joined mid-stream, a gap)
  // waits: the PRODUCER or SUBSCRIBE that names it may be among the bytes
  // the other side holds in question. Never at the end (flushing).
  bool waitsForPeer(Direction dir, const Sizes& sizes, Bytes rest) const {
    const int peer = 1 - static_cast<int>(dir);
    if (flushing_[static_cast<int>(dir)] || !resync_[peer].waiting()) return false;
    // The wait is bounded: past half the buffering cap held on this side
    // the command is decoded without the topic the peer may still show, so
    // a peer that stays undecided cannot make this side's tail grow.
    if (rest.size() >= limits_.max_buffered_bytes / 2) return false;
    const Base base = readBase(rest.subspan(kSizesBytes, sizes.command));
    const CommandSpec* spec = base.error.empty() ? findCommand(base.type) : nullptr;
    if (spec == nullptr || spec->owner == Owner::kNone || spec->learns || !base.has_sub) return false;
    pb::Summary s;
    return pb::summarize(base.sub, s) && s.hasVarint(spec->owner_id) && topicOf(*spec, s) == nullptr;
  }

  std::string version() const {
    if (!connect_seen_[0] && !connect_seen_[1]) return "";
    if (connect_seen_[0] && connect_seen_[1]) return std::to_string(std::min(version_[0], version_[1]));
    return std::to_string(connect_seen_[0] ? version_[0] : version_[1]);
  }

  Message message(Kind kind, uint64_t pos, const Sizes& s) const {
    Message m;
    m.kind = kind == Kind::kRequest ? MessageKind::kRequest
             : kind == Kind::kResponse ? MessageKind::kResponse
                                       : MessageKind::kOneWay;
    m.pos = pos;
    m.wire_size = static_cast<uint32_t>(std::min<uint64_t>(s.frame(), UINT32_MAX));
    m.fields.version = version();
    m.fields.request_domain = domain_;
    m.fields.response_status = kind == Kind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    if (kind == Kind::kResponse) {
      m.fields.response_length = s.total;
    } else {
      m.fields.request_length = s.total;
    }
    return m;
  }

  void failure(Direction dir, MessageSink& sink, uint64_t pos, uint32_t wire_size, std::string why) const {
    Message m;
    m.pos = pos;
    m.wire_size = wire_size;
    m.fields.version = version();
    m.fields.request_domain = domain_;
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::move(why);
    sink.onMessage(dir, std::move(m));
  }

  static void setTopic(L7Fields& f, std::string_view topic) {
    f.endpoint = std::string(topic);
    const size_t slash = topic.rfind('/');
    f.request_resource = std::string(slash == std::string_view::npos ? topic : topic.substr(slash + 1));
  }

  void learn(std::unordered_map<uint64_t, std::string>& ids, uint64_t id, std::string_view topic) {
    if (ids.size() >= limits_.max_pending && ids.find(id) == ids.end()) ids.erase(ids.begin());
    ids[id] = std::string(topic);
  }

  const std::string* topicOf(const CommandSpec& spec, const pb::Summary& s) const {
    if (spec.owner == Owner::kNone || !s.hasVarint(spec.owner_id)) return nullptr;
    bool producer = spec.owner == Owner::kProducer;
    if (spec.owner == Owner::kByResourceType) producer = s.hasVarint(2) && s.varint[2] == 0;
    const auto& ids = producer ? producers_ : consumers_;
    const auto it = ids.find(s.varint[spec.owner_id]);
    return it == ids.end() ? nullptr : &it->second;
  }

  PairKey keyOf(Direction dir, const CommandSpec& spec, const pb::Summary& s) const {
    switch (spec.pairing) {
      case Pairing::kRequestId: return {kLaneRequestId, s.varint[spec.request_id], 0};
      case Pairing::kSend: return {kLaneSend, s.varint[1], s.varint[2]};
      case Pairing::kConnect: return {kLaneConnect, 0, 0};
      case Pairing::kAuth: return {kLaneAuth, 0, 0};
      case Pairing::kPing: {
        // A PING's lane is its sender's; a PONG answers the other side's.
        const bool from_client = (dir == Direction::kToServer) == (spec.type == type::kPing);
        return {from_client ? kLanePingFromClient : kLanePingFromServer, 0, 0};
      }
      case Pairing::kNone: break;
    }
    return {};
  }

  // The connection state a command carries: versions, the proxied broker,
  // the frame cap, producer and consumer topics.
  void learnState(Direction dir, const CommandSpec& spec, const pb::Summary& s) {
    const int d = static_cast<int>(dir);
    if (spec.type == type::kConnect || spec.type == type::kConnected) {
      const uint32_t version_field = spec.type == type::kConnect ? 4 : 2;
      connect_seen_[d] = true;
      version_[d] = s.hasVarint(version_field) ? static_cast<int32_t>(s.varint[version_field]) : 0;
    }
    if (spec.type == type::kConnect && s.hasBytes(6) && !s.bytes[6].empty()) domain_ = std::string(pb::text(s.bytes[6]));
    if (spec.type == type::kConnected && s.hasVarint(3) && static_cast<int32_t>(s.varint[3]) > 0) {
      cap_ = std::min(limits_.max_message_bytes, s.varint[3] + kFramePadding);
    }
    if (spec.learns && s.hasBytes(spec.topic) && s.hasVarint(spec.owner_id)) {
      learn(spec.owner == Owner::kProducer ? producers_ : consumers_, s.varint[spec.owner_id], pb::text(s.bytes[spec.topic]));
    }
  }

  // One frame (whole, or the held prefix of a larger one). False when its
  // BaseCommand does not decode: the framing is then in doubt.
  bool decodeFrame(Direction dir, const Sizes& sizes, Bytes frame, bool whole, uint64_t pos, MessageSink& sink) {
    const Bytes command = frame.subspan(kSizesBytes, sizes.command);
    const Base base = readBase(command);
    if (!base.error.empty()) {
      failure(dir, sink, pos, static_cast<uint32_t>(sizes.frame()), std::string(base.error));
      return false;
    }
    const CommandSpec* spec = findCommand(base.type);
    if (spec == nullptr) {
      Message m = message(Kind::kOneWay, pos, sizes);
      m.fields.request_type = commandName(base.type);
      m.fields.response_status = ResponseStatus::kUnknown;
      sink.onMessage(dir, std::move(m));
      return true;
    }
    Message m = message(spec->kind, pos, sizes);
    m.fields.request_type = std::string(spec->name);
    L7Fields& f = m.fields;
    auto fail = [&](std::string why) {
      f.response_status = ResponseStatus::kParseFailed;
      f.response_exception = std::move(why);
      sink.onMessage(dir, std::move(m));
      return true;
    };
    if (!base.has_sub) return fail(std::string(spec->name) + " without its sub-message");
    pb::Summary s;
    if (!pb::summarize(base.sub, s)) return fail(std::string(s.error));
    m.key = keyOf(dir, *spec, s);
    if (!s.hasAll(spec->required_varints, spec->required_bytes)) {
      return fail(std::string(spec->name) + " lacks a required field");
    }
    learnState(dir, *spec, s);
    f.version = version();
    f.request_domain = domain_;
    if (spec->pairing == Pairing::kSend) {
      f.request_id = static_cast<int64_t>((s.varint[1] & 0xFFFF) << 16 | (s.varint[2] & 0xFFFF));
    } else if (spec->request_id != 0 && s.hasVarint(spec->request_id)) {
      f.request_id = static_cast<int64_t>(s.varint[spec->request_id]);
    }
    if (spec->topic != 0 && s.hasBytes(spec->topic)) {
      setTopic(f, pb::text(s.bytes[spec->topic]));
    } else if (const std::string* topic = topicOf(*spec, s)) {
      setTopic(f, *topic);
    }
    if (spec->error != 0 && s.hasVarint(spec->error)) {
      f.response_status = ResponseStatus::kServerError;
      f.response_code = static_cast<int64_t>(s.varint[spec->error]);
      const std::string_view text = s.hasBytes(spec->message) ? pb::text(s.bytes[spec->message]) : std::string_view();
      f.response_exception = std::string(text.empty() ? serverErrorName(s.varint[spec->error]) : text);
    }
    if (spec->message_id != 0 && s.hasBytes(spec->message_id)) {
      (spec->kind == Kind::kResponse ? f.x_request_id_1 : f.x_request_id_0) = messageIdText(s.bytes[spec->message_id]);
    }
    const Bytes extra = frame.subspan(kSizesBytes + sizes.command);
    if (!extra.empty()) {
      PayloadResult p = decodePayload(extra, whole, caps_, f);
      if (!p.error.empty()) return fail(std::move(p.error));
    }
    sink.onMessage(dir, std::move(m));
    return true;
  }

  DecoderLimits limits_;
  uint64_t cap_;  // largest totalSize accepted
  PayloadCaps caps_;
  Resync resync_[2];
  bool flushing_[2] = {false, false};  // decodeToEnd under way: nothing waits any more
  bool holding_[2] = {false, false};   // a frame waits for the other side's resynchronization
  bool connect_seen_[2] = {false, false};  // CONNECT (client side), CONNECTED (server side)
  int32_t version_[2] = {0, 0};
  std::string domain_;  // CONNECT.proxy_to_broker_url
  // Topics by producer and consumer id, at most max_pending of each.
  std::unordered_map<uint64_t, std::string> producers_, consumers_;
};

// A merged record's version is its answer's: the answer came after both
// CONNECT and CONNECTED, so it knows the lower of the two.
void mergePulsar(Record& request, Record&& response) {
  std::string version = std::move(response.f.version);
  mergeKeepingRequestFailure(request, std::move(response));
  if (!version.empty()) request.f.version = std::move(version);
}

std::unique_ptr<Decoder> createPulsar(const DecoderLimits& limits) { return std::make_unique<PulsarDecoder>(limits); }

constexpr uint16_t kPulsarPorts[] = {6650};
constexpr std::string_view kPulsarVersions[] = {"17", "19", "20", "21"};

}  // namespace

ProbeVerdict probePulsar(Bytes first_bytes) noexcept {
  // Probes see a connection's first bytes: a command larger than this is
  // not how a Pulsar connection opens.
  constexpr uint32_t kProbeCommandBytes = 64u << 10;
  Sizes s;
  switch (readSizes(first_bytes, kDefaultMaxMessageSize + kFramePadding, s)) {
    case SizeCheck::kNeedMore: return ProbeVerdict::kNeedMore;
    case SizeCheck::kBad: return ProbeVerdict::kNo;
    case SizeCheck::kOk: break;
  }
  if (s.command > kProbeCommandBytes) return ProbeVerdict::kNo;
  if (first_bytes.size() < kSizesBytes + s.command) return ProbeVerdict::kNeedMore;
  const Base base = readBase(first_bytes.subspan(kSizesBytes, s.command));
  const CommandSpec* spec = base.error.empty() ? findCommand(base.type) : nullptr;
  pb::Summary sub;
  if (spec == nullptr || !base.has_sub || !pb::summarize(base.sub, sub) ||
      !sub.hasAll(spec->required_varints, spec->required_bytes)) {
    return ProbeVerdict::kNo;
  }
  return senderOf(*spec);
}

const DecoderInfo& pulsarDecoderInfo() {
  static const DecoderInfo info{L7Protocol::kPulsar, "Pulsar", "pulsar", kPulsarPorts, probePulsar, createPulsar,
                                kPulsarVersions, mergePulsar};
  return info;
}

}  // namespace l7::pulsar
