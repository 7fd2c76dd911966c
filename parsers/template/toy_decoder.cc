#include "template/toy_decoder.h"

#include <algorithm>
#include <string>
#include <vector>

#include "l7/merge.h"
#include "l7/resync.h"

namespace l7::toy {
namespace {

// length(4) type(1) channel(1): every frame starts so.
constexpr size_t kHeaderBytes = 6;
// Bodies spread over PART frames that one connection may hold open at once.
constexpr size_t kMaxOpenParts = 16;

struct Header {
  uint32_t length = 0;  // bytes after the length field
  FrameType type = FrameType::kHello;
  uint8_t channel = 0;
  uint64_t total() const { return uint64_t{length} + 4; }
};

enum class HeaderCheck : uint8_t { kNeedMore, kBad, kOk };

HeaderCheck readHeader(Bytes b, uint64_t max_message_bytes, Header& h) {
  if (b.size() < kHeaderBytes) return HeaderCheck::kNeedMore;
  ByteReader r(b);
  uint8_t type = 0;
  r.u32be(h.length);
  r.u8(type);
  r.u8(h.channel);
  if (h.length < 2 || h.length > max_message_bytes || type < 1 || type > 5) return HeaderCheck::kBad;
  h.type = static_cast<FrameType>(type);
  return HeaderCheck::kOk;
}

// The protocol's grammar for the shared resynchronization engine: a sane
// header is all TOY can check before the body.
struct Grammar final : FrameGrammar {
  explicit Grammar(const DecoderLimits& limits) : limits(limits) {}
  FrameGuess guess(Bytes data, size_t at) const noexcept override {
    Header h;
    switch (readHeader(data.subspan(at), limits.max_buffered_bytes, h)) {
      case HeaderCheck::kNeedMore: return FrameGuess::needMore(kHeaderBytes);
      case HeaderCheck::kBad: return FrameGuess::no();
      case HeaderCheck::kOk: break;
    }
    return FrameGuess::frame(h.total());
  }
  const DecoderLimits& limits;
};

class ToyDecoder final : public Decoder {
 public:
  explicit ToyDecoder(const DecoderLimits& limits)
      : limits_(limits), resync_{Resync({2, limits.max_buffered_bytes}), Resync({2, limits.max_buffered_bytes})} {}

  FeedResult feed(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    FeedResult result;
    size_t pos = 0;
    while (pos < tail.size()) {
      // The shared engine finds the next frame start after lost framing.
      if (!resyncStep(resync_[d], Grammar(limits_), tail, pos, limits_.max_buffered_bytes, result.needed)) break;
      Header h;
      const Bytes rest = tail.subspan(pos);
      const HeaderCheck check = readHeader(rest, limits_.max_message_bytes, h);
      if (check == HeaderCheck::kNeedMore) break;
      if (check == HeaderCheck::kBad) {
        failure(dir, sink, tail_pos + pos, 1, "not a TOY frame header");
        resync_[d].start();
        ++pos;
        continue;
      }
      if (h.total() > limits_.max_buffered_bytes) {
        // Oversized: reported from its header, its body passed over unseen.
        failure(dir, sink, tail_pos + pos, static_cast<uint32_t>(std::min<uint64_t>(h.total(), UINT32_MAX)),
                "frame over the buffering cap");
        result.skip = h.total() - std::min<uint64_t>(h.total(), rest.size());
        pos += static_cast<size_t>(std::min<uint64_t>(h.total(), rest.size()));
        break;
      }
      if (h.total() > rest.size()) {
        result.needed = static_cast<uint32_t>(h.total());
        break;
      }
      // The version is the lower of both greetings: a side's frames wait
      // for the peer's (which wakes them), unless the peer's greeting may
      // be lost (it is resynchronizing, or the capture joined late).
      if (h.type != FrameType::kHello && waitsForPeer(dir)) break;
      const Bytes body = rest.subspan(kHeaderBytes, h.length - 2);
      if (h.type == FrameType::kHello && !hello_[d]) result.wake_peer = true;
      decodeFrame(dir, h, body, tail_pos + pos, sink);
      pos += static_cast<size_t>(h.total());
    }
    result.consumed = static_cast<uint32_t>(pos);
    result.holds_from = holdsFrom(dir);
    return result;
  }

  // Whole frames held are decoded (a resynchronization decides as at the
  // end), and bodies still open lose their later frames, so each is
  // reported now, as far as it came.
  void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept override {
    decodeToEnd(dir, held, pos, sink);
    closeParts(dir, sink, "body cut by lost bytes");
    resync_[static_cast<int>(dir)].start();
  }

  void onEof(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const size_t pos = decodeToEnd(dir, tail, tail_pos, sink);
    closeParts(dir, sink, "stream ended inside a body");
    if (pos < tail.size() && !resync_[static_cast<int>(dir)].active()) {
      failure(dir, sink, tail_pos + pos, static_cast<uint32_t>(tail.size() - pos), "stream ended inside a frame");
    }
  }

 private:
  struct OpenPart {
    Direction dir;
    uint8_t channel;
    uint64_t pos;  // its first frame
    uint64_t wire_size;
  };

  // Nothing more comes (the end, or lost bytes): a resynchronization
  // decides on what it holds, and whole frames are decoded without
  // waiting for the peer. Returns
  // where decoding stopped.
  size_t decodeToEnd(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) {
    const int d = static_cast<int>(dir);
    size_t pos = 0;
    if (!resyncAtEnd(resync_[d], Grammar(limits_), tail, pos)) return tail.size();
    flushing_[d] = true;
    if (pos < tail.size()) pos += feed(dir, tail.subspan(pos), tail_pos + pos, sink).consumed;
    flushing_[d] = false;
    return pos;
  }

  bool versionKnown() const { return hello_[0] && hello_[1]; }
  bool waitsForPeer(Direction dir) const {
    const int peer = 1 - static_cast<int>(dir);
    return !hello_[peer] && !resync_[peer].active() && !flushing_[static_cast<int>(dir)];
  }
  uint8_t version() const { return std::min(version_[0], version_[1]); }

  uint64_t holdsFrom(Direction dir) const {
    uint64_t from = kHoldsNothing;
    for (const OpenPart& p : parts_) {
      if (p.dir == dir) from = std::min(from, p.pos);
    }
    return from;
  }

  Message message(MessageKind kind, uint64_t pos, uint64_t wire_size, std::string_view type) const {
    Message m;
    m.kind = kind;
    m.pos = pos;
    m.wire_size = static_cast<uint32_t>(std::min<uint64_t>(wire_size, UINT32_MAX));
    m.fields.request_type = std::string(type);
    if (versionKnown()) m.fields.version = std::to_string(version());
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    return m;
  }

  void failure(Direction dir, MessageSink& sink, uint64_t pos, uint32_t wire_size, std::string_view why) const {
    Message m = message(MessageKind::kOneWay, pos, wire_size, "");
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::string(why);
    sink.onMessage(dir, std::move(m));
  }

  void decodeFrame(Direction dir, const Header& h, Bytes body, uint64_t pos, MessageSink& sink) {
    ByteReader r(body);
    const uint64_t wire = h.total();
    switch (h.type) {
      case FrameType::kHello: {
        uint8_t v = 0;
        if (!r.u8(v) || v == 0) return failure(dir, sink, pos, static_cast<uint32_t>(wire), "bad HELLO");
        hello_[static_cast<int>(dir)] = true;
        version_[static_cast<int>(dir)] = v;
        Message m = message(MessageKind::kOneWay, pos, wire, "HELLO");
        m.fields.version = std::to_string(v);
        sink.onMessage(dir, std::move(m));
        return;
      }
      case FrameType::kRequest: {
        uint64_t id = 0, id2 = 0;
        uint8_t op = 0;
        if (!r.u64be(id) || !r.u64be(id2) || !r.u8(op)) {
          return failure(dir, sink, pos, static_cast<uint32_t>(wire), "REQ truncated");
        }
        Message m = message(MessageKind::kRequest, pos, wire, "REQ");
        m.key = PairKey{h.channel, id, id2};
        m.context = op;
        m.fields.request_id = static_cast<int64_t>(id);
        m.fields.request_resource = std::string(asText(r.rest()));
        m.fields.endpoint = m.fields.request_resource;
        if (op != static_cast<uint8_t>(Op::kStatus) && op != static_cast<uint8_t>(Op::kText)) {
          // Still a request: its answer pairs with it, and the merge keeps
          // this failure (DecoderInfo::merge).
          m.fields.response_status = ResponseStatus::kParseFailed;
          m.fields.response_exception = "unknown operation";
        }
        sink.onMessage(dir, std::move(m));
        return;
      }
      case FrameType::kResponse: {
        uint64_t id = 0, id2 = 0;
        if (!r.u64be(id) || !r.u64be(id2)) return failure(dir, sink, pos, static_cast<uint32_t>(wire), "RES truncated");
        Message m = message(MessageKind::kResponse, pos, wire, "");
        m.key = PairKey{h.channel, id, id2};
        // The body's layout is the request's to say: its operation comes
        // back from the session's pending store.
        const std::optional<uint64_t> op = sink.pendingContext(m.key);
        uint16_t code = 0;
        if (op == static_cast<uint64_t>(Op::kStatus) && r.u16be(code)) {
          m.fields.response_code = code;
          if (code != 0) {
            m.fields.response_status = ResponseStatus::kServerError;
            m.fields.response_exception = "status " + std::to_string(code);
          }
        } else if (op == static_cast<uint64_t>(Op::kText)) {
          m.fields.response_result = std::string(asText(r.rest()));
        }
        sink.onMessage(dir, std::move(m));
        return;
      }
      case FrameType::kNote: {
        Message m = message(MessageKind::kOneWay, pos, wire, "NOTE");
        m.fields.request_resource = std::string(asText(r.rest()));
        sink.onMessage(dir, std::move(m));
        return;
      }
      case FrameType::kPart: {
        uint8_t more = 0;
        if (!r.u8(more)) return failure(dir, sink, pos, static_cast<uint32_t>(wire), "PART truncated");
        auto it = std::find_if(parts_.begin(), parts_.end(),
                               [&](const OpenPart& p) { return p.dir == dir && p.channel == h.channel; });
        if (it == parts_.end()) {
          if (parts_.size() >= kMaxOpenParts) {
            return failure(dir, sink, pos, static_cast<uint32_t>(wire), "too many bodies open");
          }
          parts_.push_back(OpenPart{dir, h.channel, pos, 0});
          it = parts_.end() - 1;
        }
        it->wire_size += wire;
        if (more != 0 && it->wire_size <= limits_.max_message_bytes) return;
        // The last frame: one record for the whole body, placed at its first frame.
        Message m = message(MessageKind::kOneWay, it->pos, it->wire_size, "BODY");
        if (more != 0) {
          m.fields.response_status = ResponseStatus::kParseFailed;
          m.fields.response_exception = "body over the size cap";
        }
        parts_.erase(it);
        sink.onMessage(dir, std::move(m));
        return;
      }
    }
  }

  void closeParts(Direction dir, MessageSink& sink, std::string_view why) {
    for (auto it = parts_.begin(); it != parts_.end();) {
      if (it->dir != dir) {
        ++it;
        continue;
      }
      Message m = message(MessageKind::kOneWay, it->pos, it->wire_size, "BODY");
      m.fields.response_status = ResponseStatus::kParseFailed;
      m.fields.response_exception = std::string(why);
      it = parts_.erase(it);
      sink.onMessage(dir, std::move(m));
    }
  }

  DecoderLimits limits_;
  Resync resync_[2];
  bool hello_[2] = {false, false};
  bool flushing_[2] = {false, false};  // decodeToEnd under way: nothing waits any more
  uint8_t version_[2] = {0, 0};
  std::vector<OpenPart> parts_;  // at most kMaxOpenParts
};

ProbeVerdict probeToy(Bytes first_bytes) noexcept {
  // Both sides open with the same HELLO: which one is the client, the
  // session decides.
  Header h;
  switch (readHeader(first_bytes, 64, h)) {
    case HeaderCheck::kNeedMore: return ProbeVerdict::kNeedMore;
    case HeaderCheck::kBad: return ProbeVerdict::kNo;
    case HeaderCheck::kOk: break;
  }
  if (h.type != FrameType::kHello || h.length != 3 || first_bytes.size() < 7) {
    return h.type == FrameType::kHello && first_bytes.size() < 7 ? ProbeVerdict::kNeedMore : ProbeVerdict::kNo;
  }
  return first_bytes[6] != 0 ? ProbeVerdict::kEitherSide : ProbeVerdict::kNo;
}

std::unique_ptr<Decoder> createToy(const DecoderLimits& limits) { return std::make_unique<ToyDecoder>(limits); }

constexpr uint16_t kToyPorts[] = {7777};
constexpr std::string_view kToyVersions[] = {"1", "2"};

}  // namespace

const DecoderInfo& toyDecoderInfo() {
  static const DecoderInfo info{L7Protocol::kUnknown, "TOY", "toy", kToyPorts, probeToy, createToy, kToyVersions,
                                mergeKeepingRequestFailure};
  return info;
}

}  // namespace l7::toy
