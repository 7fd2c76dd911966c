#include "openwire/openwire_decoder.h"

#include <algorithm>
#include <string>

#include "l7/merge.h"
#include "l7/resync.h"
#include "l7/tracectx.h"
#include "openwire/openwire_codec.h"

namespace l7::openwire {
namespace {

constexpr size_t kPrefixBytes = 4;
// Without a size prefix: walks of one unfinished command before its wait grows.
constexpr uint32_t kWalksBeforeGrowing = 8;
// Field reads that make a walk costly enough for that.
constexpr uint32_t kCostlyWalk = 4096;

// The grammar for the shared resynchronization engine: with a size prefix,
// a sane size and a command type; without one, a whole command that
// decodes (read-only: the cache is consulted, not filled).
struct Grammar final : FrameGrammar {
  Grammar(const WireSettings& s, MarshalCache& cache, const DecoderLimits& limits)
      : s(s), cache(cache), limits(limits) {}
  FrameGuess guess(Bytes data, size_t at) const noexcept override {
    const Bytes b = data.subspan(at);
    // A WireFormatInfo is always size-prefixed, and its magic is proof.
    if (b.size() >= 13 && b[4] == kWireFormatInfoType && asText(b.subspan(5, 8)) == "ActiveMQ") {
      ByteReader r(b);
      uint32_t size = 0;
      r.u32be(size);
      if (size <= limits.max_buffered_bytes) return FrameGuess::sureFrame(uint64_t{size} + kPrefixBytes);
    }
    if (!s.size_prefix_disabled) {
      if (b.size() < kPrefixBytes + 1) return FrameGuess::needMore(kPrefixBytes + 1);
      ByteReader r(b);
      uint32_t size = 0;
      r.u32be(size);
      const TypeInfo& info = typeInfo(b[4]);
      if (size == 0 || size > limits.max_buffered_bytes || info.name.empty() ||
          info.category == Category::kNotACommand) {
        return FrameGuess::no();
      }
      return FrameGuess::frame(uint64_t{size} + kPrefixBytes);
    }
    CommandFacts f;
    switch (decodeCommand(b, s, cache, /*dry_run=*/true, f)) {
      case DecodeStatus::kOk: return FrameGuess::frame(f.size);
      case DecodeStatus::kTruncated:
        return f.need <= limits.max_buffered_bytes ? FrameGuess::needMore(f.need) : FrameGuess::no();
      default: return FrameGuess::no();
    }
  }
  const WireSettings& s;
  MarshalCache& cache;
  const DecoderLimits& limits;
};

std::string versionText(uint32_t v) { return std::to_string(v); }

class OpenWireDecoder final : public Decoder {
 public:
  explicit OpenWireDecoder(const DecoderLimits& limits)
      : limits_(limits),
        resync_{Resync({2, limits.max_buffered_bytes}), Resync({2, limits.max_buffered_bytes})} {}

  FeedResult feed(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    FeedResult result;
    size_t pos = 0;
    while (pos < tail.size()) {
      if (resync_[d].active() && !resyncStep(resync_[d], Grammar(settings(dir), cache_[d], limits_), tail, pos,
                                             limits_.max_buffered_bytes, result.needed)) {
        break;
      }
      // A side's commands after its WireFormatInfo are read with the
      // negotiated format: they wait for the peer's (which wakes them),
      // unless the peer's may be lost.
      if (wfi_[d] && waitsForPeer(dir)) {
        // Not past half the buffering cap: a capture of one direction
        // only must not hold this side's bytes until they are dropped.
        if (tail.size() - pos < limits_.max_buffered_bytes / 2) break;
        lost_[1 - d] = true;
      }
      const Bytes rest = tail.subspan(pos);
      const WireSettings s = looksLikeWireFormatInfo(d, rest) ? kInitialSettings : settings(dir);
      if (answerWaitsForPeer(d, s, rest)) {
        // The other side's unfinished command may be what this answers:
        // it is read first (the session feeds it whole when woken).
        result.wake_peer = true;
        break;
      }
      Step step = s.size_prefix_disabled ? unprefixed(dir, s, rest, tail_pos + pos, sink)
                                         : prefixed(dir, s, rest, tail_pos + pos, sink, result);
      if (step.woke) result.wake_peer = true;
      if (step.needed != 0) result.needed = step.needed;
      pos += step.consumed;
      if (step.stop) break;
    }
    if (wake_pending_[d]) {
      result.wake_peer = true;
      wake_pending_[d] = false;
    }
    result.consumed = static_cast<uint32_t>(pos);
    return result;
  }

  void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    decodeToEnd(dir, held, pos, sink);
    // A capture that joined before this side said anything may still
    // hold its WireFormatInfo: the other side waits until this side's
    // first command shows whether it does (record()).
    if (held.empty() && pos == 0 && !decoded_[d]) {
      joined_[d] = true;
    } else {
      lost_[d] = true;
    }
    retries_[d] = 0;
    retry_at_[d] = UINT64_MAX;
    resync_[d].start();
  }

  void onEof(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const size_t pos = decodeToEnd(dir, tail, tail_pos, sink);
    if (pos < tail.size() && !resync_[static_cast<int>(dir)].active()) {
      failure(dir, sink, tail_pos + pos, tail.size() - pos, "", "stream ended inside a command");
    }
  }

 private:
  struct Step {
    size_t consumed = 0;
    bool stop = false;
    bool woke = false;
    uint32_t needed = 0;
  };

  // With a size prefix: the frame is known before its command decodes.
  Step prefixed(Direction dir, const WireSettings& s, Bytes rest, uint64_t pos, MessageSink& sink,
                FeedResult& result) {
    Step step;
    if (rest.size() < kPrefixBytes) return {0, true, false};
    ByteReader r(rest);
    uint32_t size = 0;
    r.u32be(size);
    const uint64_t total = uint64_t{size} + kPrefixBytes;
    if (size == 0 || size > limits_.max_message_bytes) {
      failure(dir, sink, pos, 1, "", "bad command size");
      resync_[static_cast<int>(dir)].start();
      return {1, false, false};
    }
    if (total > limits_.max_buffered_bytes) {
      // Reported from its prefix and type, its body passed over unseen.
      const std::string_view name = rest.size() > kPrefixBytes ? typeInfo(rest[4]).name : std::string_view();
      failure(dir, sink, pos, total, name, "command over the buffering cap");
      const size_t have = static_cast<size_t>(std::min<uint64_t>(total, rest.size()));
      result.skip = total - have;
      return {have, true, false};
    }
    if (total > rest.size()) {
      result.needed = static_cast<uint32_t>(total);
      return {0, true, false};
    }
    const Bytes body = rest.subspan(kPrefixBytes, size);
    CommandFacts f;
    const DecodeStatus status = decodeCommand(body, s, cache_[static_cast<int>(dir)], false, f);
    step.consumed = static_cast<size_t>(total);
    switch (status) {
      case DecodeStatus::kOk:
        if (f.size != size) {
          failure(dir, sink, pos, total, f.name, "size prefix disagrees with the command");
          break;
        }
        step.woke = record(dir, f, pos, total, sink);
        break;
      case DecodeStatus::kUnknownType:
        // Framed by its prefix: passed over and reported.
        failure(dir, sink, pos, total, "", "unknown command type " + std::to_string(f.type));
        break;
      case DecodeStatus::kTruncated:
        failure(dir, sink, pos, total, f.name, "command longer than its size prefix");
        break;
      case DecodeStatus::kMalformed: failure(dir, sink, pos, total, f.name, std::string(f.error)); break;
    }
    return step;
  }

  // Without a size prefix: a command ends where its last field does.
  Step unprefixed(Direction dir, const WireSettings& s, Bytes rest, uint64_t pos, MessageSink& sink) {
    CommandFacts f;
    const int d = static_cast<int>(dir);
    const DecodeStatus status = decodeCommand(rest, s, cache_[d], false, f);
    if (status == DecodeStatus::kTruncated && !flushing_[d] && f.need <= limits_.max_buffered_bytes) {
      // Each wait ends in a walk of the command from its start. A command
      // of thousands of fields (no real client writes one) arriving in
      // small pieces would cost a long walk a piece: after a few, it waits
      // for half as much again (an answer of the other side then waits for
      // it, feed()). Ordinary commands wait for exactly what they lack: a
      // longer wait could outlast the stream's pause for the peer's answer.
      retries_[d] = retry_at_[d] == pos && f.fields_read >= kCostlyWalk ? retries_[d] + 1 : 0;
      retry_at_[d] = pos;
      uint64_t need = f.need;
      if (retries_[d] >= kWalksBeforeGrowing) need = std::max<uint64_t>(need, rest.size() + rest.size() / 2);
      return {0, true, false, static_cast<uint32_t>(std::min<uint64_t>(need, limits_.max_buffered_bytes))};
    }
    // The command is decided: an answer the other side held for it can go.
    Step step{0, false, retries_[d] >= kWalksBeforeGrowing};
    retries_[d] = 0;
    retry_at_[d] = UINT64_MAX;
    switch (status) {
      case DecodeStatus::kOk:
        step.consumed = f.size;
        step.woke = record(dir, f, pos, f.size, sink) || step.woke;
        return step;
      case DecodeStatus::kTruncated:
        failure(dir, sink, pos, rest.size(), f.name,
                flushing_[d] ? "stream ended inside a command" : "command over the buffering cap");
        step.consumed = rest.size();
        step.stop = true;
        break;
      case DecodeStatus::kUnknownType:
        failure(dir, sink, pos, 1, "", "unknown command type " + std::to_string(f.type));
        step.consumed = 1;
        break;
      case DecodeStatus::kMalformed:
        failure(dir, sink, pos, 1, f.name, std::string(f.error));
        step.consumed = 1;
        break;
    }
    // Framing is lost: the shared engine finds the next command.
    resync_[d].start();
    return step;
  }

  size_t decodeToEnd(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) {
    const int d = static_cast<int>(dir);
    size_t pos = 0;
    if (resync_[d].active() && !resyncAtEnd(resync_[d], Grammar(settings(dir), cache_[d], limits_), tail, pos)) {
      return tail.size();
    }
    flushing_[d] = true;
    if (pos < tail.size()) pos += feed(dir, tail.subspan(pos), tail_pos + pos, sink).consumed;
    flushing_[d] = false;
    return pos;
  }

  // A Response while the other side's command, without a size prefix, has
  // waited long enough for its waits to grow: the bytes that finish it may
  // be held (feed()), and the answer must not be read before its request.
  bool answerWaitsForPeer(int d, const WireSettings& s, Bytes rest) const {
    const int peer = 1 - d;
    if (flushing_[d] || retries_[peer] < kWalksBeforeGrowing) return false;
    const size_t at = s.size_prefix_disabled ? 0 : kPrefixBytes;
    return rest.size() > at && typeInfo(rest[at]).category == Category::kResponse;
  }

  // Every WireFormatInfo is sent before negotiation: loose, size-prefixed.
  bool looksLikeWireFormatInfo(int d, Bytes rest) const {
    return !wfi_[d] && rest.size() > kPrefixBytes && rest[4] == kWireFormatInfoType;
  }

  bool waitsForPeer(Direction dir) const {
    const int peer = 1 - static_cast<int>(dir);
    return !wfi_[peer] && !lost_[peer] && !flushing_[static_cast<int>(dir)];
  }

  // How `dir` is read now: as it starts before its WireFormatInfo; the
  // negotiated format once both are seen; its own (or ActiveMQ's defaults)
  // when the other side's is lost.
  WireSettings settings(Direction dir) const {
    const int d = static_cast<int>(dir);
    const int peer = 1 - d;
    if (!wfi_[d]) return lost_[d] || joined_[d] ? defaultsFor(peer) : kInitialSettings;
    if (wfi_[peer]) return negotiated_;
    return defaultsFor(d);
  }
  // One side's WireFormatInfo and ActiveMQ's defaults for the unseen one.
  WireSettings defaultsFor(int seen) const {
    if (!wfi_[seen]) return kActiveMqDefaults;
    return negotiate(options_[seen], version_[seen], kActiveMqOptions, kMaxVersion);
  }
  bool versionKnown() const { return wfi_[0] && wfi_[1]; }

  Message message(Direction dir, MessageKind kind, uint64_t pos, uint64_t wire, std::string_view type) const {
    Message m;
    m.kind = kind;
    m.pos = pos;
    m.wire_size = static_cast<uint32_t>(std::min<uint64_t>(wire, UINT32_MAX));
    m.fields.request_type = std::string(type);
    if (versionKnown()) {
      m.fields.version = versionText(negotiated_.version);
    } else if (wfi_[static_cast<int>(dir)]) {
      m.fields.version = versionText(version_[static_cast<int>(dir)]);
    }
    m.fields.request_domain = broker_url_;
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    return m;
  }

  void failure(Direction dir, MessageSink& sink, uint64_t pos, uint64_t wire, std::string_view name,
               std::string why) {
    // What fails before a side's WireFormatInfo means it is not coming.
    const int d = static_cast<int>(dir);
    if (!wfi_[d] && !lost_[d]) {
      lost_[d] = true;
      wake_pending_[d] = true;
    }
    Message m = message(dir, MessageKind::kOneWay, pos, wire, name);
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::move(why);
    sink.onMessage(dir, std::move(m));
  }

  // Emits the record of a decoded command; true when it was a side's
  // WireFormatInfo (the peer's held bytes can be read now).
  bool record(Direction dir, CommandFacts& f, uint64_t pos, uint64_t wire, MessageSink& sink) {
    const int d = static_cast<int>(dir);
    const TypeInfo& info = typeInfo(f.type);
    if (info.category == Category::kWireFormat) return wireFormatInfo(dir, f, pos, wire, sink);
    // A side whose first command is not its WireFormatInfo lost it: the
    // other side stops waiting for it.
    const bool woke = !decoded_[d] && !wfi_[d] && !lost_[d];
    if (woke) lost_[d] = true;
    decoded_[d] = true;
    MessageKind kind = MessageKind::kOneWay;
    PairKey key;
    if (info.category == Category::kResponse) {
      kind = MessageKind::kResponse;
      // The request came from the other side: its side is in the key.
      key = PairKey{static_cast<uint32_t>(1 - d), f.correlation_id, 0};
    } else if (f.has_command_id && f.response_required) {
      kind = MessageKind::kRequest;
      key = PairKey{static_cast<uint32_t>(d), f.command_id, 0};
    }
    if (f.type == kBrokerInfoType && !f.broker_url.empty()) broker_url_ = f.broker_url;
    Message m = message(dir, kind, pos, wire, f.name);
    m.key = key;
    L7Fields& x = m.fields;
    if (info.category == Category::kResponse) {
      if (f.has_correlation_id) x.request_id = f.correlation_id;
    } else if (f.has_command_id) {
      x.request_id = f.command_id;
    }
    if (f.has_destination) {
      x.request_resource = f.destination;
      x.endpoint = f.destination;
    }
    if (!f.jms_correlation_id.empty()) {
      (dir == Direction::kToServer ? x.x_request_id_0 : x.x_request_id_1) = f.jms_correlation_id;
    }
    if (!f.exception.empty()) {
      x.response_exception = f.exception;
      x.response_status = ResponseStatus::kServerError;
    }
    if (f.has_properties) {
      forEachMapEntry(f.properties, limits_.max_array_count, [&](std::string_view name, const MapValue& v) {
        if (v.type == 9 || v.type == 13) tracectx::applyTraceHeader(name, v.text, x);
      });
    }
    if (f.cache_misses > 0) x.attributes.push_back({"cache_misses", std::to_string(f.cache_misses)});
    sink.onMessage(dir, std::move(m));
    return woke;
  }

  bool wireFormatInfo(Direction dir, const CommandFacts& f, uint64_t pos, uint64_t wire, MessageSink& sink) {
    const int d = static_cast<int>(dir);
    WireFormatOptions o;
    if (!f.has_properties || !parseWireFormatOptions(f.properties, limits_.max_array_count, o)) {
      failure(dir, sink, pos, wire, f.name, "WireFormatInfo properties malformed");
      return false;
    }
    if (f.version < kMinVersion) {
      failure(dir, sink, pos, wire, f.name, "WireFormatInfo version 0");
      return false;
    }
    const bool first = !wfi_[d];
    wfi_[d] = true;
    decoded_[d] = true;
    options_[d] = o;
    version_[d] = f.version;
    if (wfi_[1 - d]) {
      negotiated_ = negotiate(options_[0], version_[0], options_[1], version_[1]);
      for (MarshalCache& c : cache_) c.reset(negotiated_.cache_size);
    } else {
      const WireSettings alone = defaultsFor(d);
      for (MarshalCache& c : cache_) c.reset(alone.cache_size);
    }
    Message m = message(dir, MessageKind::kOneWay, pos, wire, f.name);
    m.fields.version = versionText(f.version);  // its own, as advertised
    sink.onMessage(dir, std::move(m));
    return first;
  }

  DecoderLimits limits_;
  Resync resync_[2];
  MarshalCache cache_[2];
  bool wfi_[2] = {false, false};
  bool decoded_[2] = {false, false};  // a command of this side was decoded
  bool wake_pending_[2] = {false, false};  // a command of this side was decoded
  bool lost_[2] = {false, false};
  bool joined_[2] = {false, false};
  uint64_t retry_at_[2] = {UINT64_MAX, UINT64_MAX};  // the command start last left waiting
  uint32_t retries_[2] = {0, 0};  // the capture began without this side's first bytes known to be its start      // bytes of this side were lost (or the capture joined late)
  bool flushing_[2] = {false, false};  // decodeToEnd under way: nothing waits any more
  WireFormatOptions options_[2];
  uint32_t version_[2] = {0, 0};
  WireSettings negotiated_;
  std::string broker_url_;
};

std::unique_ptr<Decoder> createOpenWire(const DecoderLimits& limits) {
  return std::make_unique<OpenWireDecoder>(limits);
}

constexpr uint16_t kOpenWirePorts[] = {61616};
constexpr std::string_view kOpenWireVersions[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"};

}  // namespace

ProbeVerdict probeOpenWire(Bytes b) noexcept {
  // size(4) type 1, then the loose WireFormatInfo's magic.
  static constexpr std::string_view kMagic = "ActiveMQ";
  const size_t have = std::min<size_t>(b.size(), 13);
  if (have > 4 && b[4] != kWireFormatInfoType) return ProbeVerdict::kNo;
  for (size_t i = 5; i < have; ++i) {
    if (b[i] != static_cast<uint8_t>(kMagic[i - 5])) return ProbeVerdict::kNo;
  }
  if (have < 13) return ProbeVerdict::kNeedMore;
  if (b[0] != 0) return ProbeVerdict::kNo;  // a WireFormatInfo is far below 16 MiB
  // Both sides open with the same command: the session picks the client.
  return ProbeVerdict::kEitherSide;
}

const DecoderInfo& openwireDecoderInfo() {
  static const DecoderInfo info{L7Protocol::kOpenWire, "OpenWire",    "openwire",       kOpenWirePorts,
                                probeOpenWire,         createOpenWire, kOpenWireVersions, mergeKeepingRequestFailure};
  return info;
}

}  // namespace l7::openwire
