#include "kafka/kafka_decoder.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "kafka/kafka_api.h"
#include "kafka/kafka_bodies.h"
#include "kafka/kafka_error_codes.h"
#include "kafka/kafka_errors.h"
#include "kafka/kafka_records.h"
#include "kafka/kafka_wire.h"
#include "l7/merge.h"
#include "l7/resync.h"

namespace l7::kafka {
namespace {

constexpr std::array<uint16_t, 1> kPorts = {9092};
// The versions decoded in full, per API (the rows of `l7conform versions`;
// the record's `version` column is the bare request_api_version). Every
// other API key is decoded to its header only (README.md).
constexpr std::string_view kVersions[] = {
    "Produce v0", "Produce v1", "Produce v2", "Produce v3", "Produce v4", "Produce v5", "Produce v6",
    "Produce v7", "Produce v8", "Produce v9", "Produce v10", "Produce v11", "Produce v12", "Produce v13",
    "Fetch v0", "Fetch v1", "Fetch v2", "Fetch v3", "Fetch v4", "Fetch v5", "Fetch v6", "Fetch v7", "Fetch v8",
    "Fetch v9", "Fetch v10", "Fetch v11", "Fetch v12", "Fetch v13", "Fetch v14", "Fetch v15", "Fetch v16",
    "Fetch v17",
    "JoinGroup v0", "JoinGroup v1", "JoinGroup v2", "JoinGroup v3", "JoinGroup v4", "JoinGroup v5",
    "JoinGroup v6", "JoinGroup v7", "JoinGroup v8", "JoinGroup v9",
    "SyncGroup v0", "SyncGroup v1", "SyncGroup v2", "SyncGroup v3", "SyncGroup v4", "SyncGroup v5",
    "LeaveGroup v0", "LeaveGroup v1", "LeaveGroup v2", "LeaveGroup v3", "LeaveGroup v4", "LeaveGroup v5",
    "ApiVersions v0", "ApiVersions v1", "ApiVersions v2", "ApiVersions v3", "ApiVersions v4",
};

// length(4) api_key(2) api_version(2) correlation_id(4) client_id length(2)
constexpr size_t kRequestProbeBytes = 14;
// length(4) correlation_id(4)
constexpr size_t kResponseHeaderBytes = 8;
// The smallest request body: api_key, api_version, correlation_id.
constexpr uint32_t kMinRequestSize = 8;
constexpr uint32_t kMinResponseSize = 4;
// Loose bounds for frames in sync: keys and versions a future Kafka could use.
constexpr int16_t kMaxFutureApiKey = 255;
constexpr int16_t kMaxFutureApiVersion = 127;
// Client ids are short names ("rdkafka", "consumer-grp-1"); a longer one in
// a header candidate is taken as noise.
constexpr int16_t kMaxProbeClientId = 1024;
constexpr size_t kMaxJunkRun = 64u << 10;
// Resynchronizing requests: how far after the last request seen the next
// correlation id may be, and for how many bytes of search that is required.
constexpr uint32_t kMaxCorrelationStep = 4096;
constexpr uint64_t kCorrelationWindowBytes = 256u << 10;
constexpr std::string_view kJunkReason = "bytes that are not a Kafka frame";

uint32_t be32(Bytes b) noexcept {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}
int16_t be16s(Bytes b) noexcept { return static_cast<int16_t>((b[0] << 8) | b[1]); }

enum class Check : uint8_t { kNo, kNeedMore, kYes };

// Does `b` start with a request header a real client would send? Strict:
// known key, released version range, non-negative correlation id, printable
// client_id that fits inside the frame.
Check strictRequestHeader(Bytes b, uint64_t max_message_bytes) noexcept {
  // Each field is judged as soon as its bytes are there: asking for all 12
  // before saying no kept short messages of other protocols (a 6-byte NATS
  // PING) unrecognized, and made a resynchronizing scan wait for nothing.
  if (b.size() < 4) return Check::kNeedMore;
  const uint32_t size = be32(b);
  if (size < kMinRequestSize || size > max_message_bytes) return Check::kNo;
  if (b.size() < 8) return Check::kNeedMore;
  const int16_t key = be16s(b.subspan(4));
  const int16_t version = be16s(b.subspan(6));
  if (!plausibleApiVersion(key, version)) return Check::kNo;
  if (b.size() < 12) return Check::kNeedMore;
  if (static_cast<int32_t>(be32(b.subspan(8))) < 0) return Check::kNo;
  if (!requestHeaderHasClientId(key, version)) return Check::kYes;
  if (b.size() < kRequestProbeBytes) return Check::kNeedMore;
  if (size < 10) return Check::kNo;
  // Every real client names itself (librdkafka "rdkafka", Java "producer-1"):
  // a null or empty client_id is far more often zeros inside a payload.
  const int16_t id_len = be16s(b.subspan(12));
  if (id_len <= 0 || id_len > kMaxProbeClientId || static_cast<uint32_t>(id_len) > size - 10) return Check::kNo;
  // Printable ASCII, starting with a letter or digit as client ids do. The
  // bytes that are here are judged before asking for the rest: a false
  // header inside a lost payload (a long "client_id" of binary bytes) must
  // not make a resynchronizing scan wait for bytes that will not help.
  const size_t have = std::min(b.size() - kRequestProbeBytes, static_cast<size_t>(id_len));
  if (have > 0 && !std::isalnum(b[kRequestProbeBytes])) return Check::kNo;
  for (size_t i = 0; i < have; ++i) {
    const uint8_t c = b[kRequestProbeBytes + i];
    if (c < 0x20 || c > 0x7e) return Check::kNo;
  }
  return have < static_cast<size_t>(id_len) ? Check::kNeedMore : Check::kYes;
}

// What decoding a response needs of its request, kept by the session's
// pending store as the request's context word: API key and version, and a
// digest of its first topic-partition.
struct Pending {
  int16_t api_key = 0;
  int16_t api_version = 0;
  std::optional<uint32_t> first;
  uint64_t context() const {
    return (uint64_t{first.value_or(0)} << 32) | (uint64_t{static_cast<uint16_t>(api_key)} << 16) |
           static_cast<uint16_t>(api_version);
  }
  static Pending of(uint64_t context) {
    Pending p;
    p.api_key = static_cast<int16_t>((context >> 16) & 0xFFFF);
    p.api_version = static_cast<int16_t>(context & 0xFFFF);
    if ((context >> 32) != 0) p.first = static_cast<uint32_t>(context >> 32);
    return p;
  }
};

bool decodesBody(int16_t key) noexcept {
  return key == api::kProduce || key == api::kFetch || key == api::kJoinGroup || key == api::kLeaveGroup ||
         key == api::kSyncGroup || key == api::kApiVersions;
}
bool mapsErrorCode(int16_t key) noexcept {
  return key == api::kProduce || key == api::kFetch || key == api::kJoinGroup || key == api::kLeaveGroup ||
         key == api::kSyncGroup;
}
bool isGroupApi(int16_t key) noexcept {
  return key == api::kJoinGroup || key == api::kLeaveGroup || key == api::kSyncGroup;
}

std::string topicPartition(const TopicPartition& tp) {
  return tp.topic + "-" + std::to_string(*tp.partition);
}

void setErrorCode(L7Fields& f, int16_t code) {
  f.response_code = code;
  f.response_status = code == 0 ? ResponseStatus::kOk : ResponseStatus::kServerError;
  f.response_exception.assign(errorDescription(code));
}

class KafkaDecoder final : public Decoder {
 public:
  explicit KafkaDecoder(const DecoderLimits& limits)
      : limits_(limits),
        resync_{Resync(ResyncRules{1, limits.max_buffered_bytes, true}),
                Resync(ResyncRules{1, limits.max_buffered_bytes, false})} {}

  FeedResult feed(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    base_ = tail_pos;
    sink_ = &sink;
    FeedResult r = feedFrames(dir, tail, sink, /*at_end=*/false);
    if (dir == Direction::kToClient) {
      const size_t left = tail.size() - r.consumed;
      response_bytes_seen_ = left - static_cast<size_t>(std::min<uint64_t>(r.skip, left));
    } else if (responses_wait_) {
      // The response side waited for this look at the requests: wake it.
      responses_wait_ = false;
      r.wake_peer = true;
    }
    return r;
  }

  // `at_end`: no more bytes will follow `tail` (onEof), so candidates that
  // would need more are judged false, and responses no longer wait.
  FeedResult feedFrames(Direction dir, Bytes tail, MessageSink& sink, bool at_end) {
    const int d = static_cast<int>(dir);
    if (dir == Direction::kToClient && !at_end && tail.size() > response_bytes_seen_ && requestsUndecided()) {
      // New response bytes, while the request side holds bytes a
      // resynchronization has not decided on, and the requests these
      // responses answer may be among them: decoded now, the responses
      // would miss them. The session looks at the request side again (it
      // may now hold a whole request behind a false candidate), then feeds
      // these bytes again, which are then not new.
      FeedResult ask;
      ask.wake_peer = true;
      responses_wait_ = true;
      return ask;
    }
    size_t pos = 0;
    while (true) {
      const Bytes rest = tail.subspan(pos);
      if (resync_[d].active()) {
        // Junk (a frame start that was not one, while in sync) stays
        // unconsumed until its run ends, so the run is one message of its
        // full length whatever the segmentation; runs longer than the chunk
        // are reported chunk by chunk, at fixed stream positions. After a
        // gap the bytes before the next frame are the rest of a lost frame:
        // dropped silently.
        const size_t held = junk_[d] ? std::min(junk_held_[d], rest.size()) : 0;
        const Grammar grammar(*this, dir, resync_bytes_[d] + held, at_end);
        const Resync::Step step = resync_[d].find(grammar, rest.subspan(held), at_end);
        size_t passed = held + step.offset;
        if (!junk_[d]) {
          pos += passed;
          resync_bytes_[d] += passed;
          if (step.kind == Resync::Step::kFound) continue;
          return step.kind == Resync::Step::kWait ? needMore(pos, clampNeed(step.need)) : done(pos);
        }
        const size_t chunk = junkChunk();
        while (passed >= chunk && (step.kind != Resync::Step::kFound || passed > chunk)) {
          emitFailure(dir, sink, pos, static_cast<uint32_t>(chunk), std::nullopt, kJunkReason);
          pos += chunk;
          passed -= chunk;
          resync_bytes_[d] += chunk;
        }
        if (step.kind == Resync::Step::kFound) {
          if (passed > 0) emitFailure(dir, sink, pos, static_cast<uint32_t>(passed), std::nullopt, kJunkReason);
          pos += passed;
          junk_[d] = false;
          junk_held_[d] = 0;
          continue;
        }
        junk_held_[d] = passed;
        return step.kind == Resync::Step::kWait ? needMore(pos, clampNeed(passed + step.need)) : done(pos);
      }
      const size_t header_bytes = dir == Direction::kToServer ? kRequestProbeBytes : kResponseHeaderBytes;
      if (rest.size() < 4) return needMore(pos, 4);
      const uint32_t size = be32(rest);
      const uint64_t total = uint64_t{size} + 4;
      if (rest.size() < std::min<uint64_t>(total, header_bytes)) {
        return needMore(pos, static_cast<uint32_t>(std::min<uint64_t>(total, header_bytes)));
      }
      if (!framePlausible(dir, rest, size)) {
        enterJunk(d);
        continue;
      }
      if (size > limits_.max_message_bytes) {
        // A well-formed header with a size past the cap: report it and pass
        // over the declared bytes, to the next length prefix.
        const size_t have = std::min<size_t>(rest.size(), total);
        emitFrameFailure(dir, sink, pos, static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX)),
                         headerOf(dir, rest), "message size over the configured cap");
        pos += have;
        if (have == total) continue;
        return FeedResult{static_cast<uint32_t>(pos), 0, total - have};
      }
      if (total <= limits_.max_buffered_bytes) {
        if (total > rest.size()) return needMore(pos, static_cast<uint32_t>(total));
        decodeFrame(dir, rest.first(static_cast<size_t>(total)), total, pos, sink);
        pos += static_cast<size_t>(total);
        continue;
      }
      // Larger than we buffer: decode what the prefix holds (the same bytes
      // however much happens to be here already), skip the rest.
      if (rest.size() < limits_.max_buffered_bytes) return needMore(pos, limits_.max_buffered_bytes);
      const size_t prefix = limits_.max_buffered_bytes;
      decodeFrame(dir, rest.first(prefix), total, pos, sink);
      if (total <= rest.size()) {  // the rest is here already: drop it now
        pos += static_cast<size_t>(total);
        continue;
      }
      pos += prefix;
      return FeedResult{static_cast<uint32_t>(pos), 0, total - prefix};
    }
  }

  // What a resynchronization held undecided before lost bytes is decided as
  // at the end of the stream: a response waiting for the next frame to
  // confirm it (lost now) is taken on what it has, requests behind a
  // candidate are found. A frame cut by the gap stays lost, silently.
  void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    if (!held.empty() && resync_[d].active() && !junk_[d]) {
      base_ = pos;
      sink_ = &sink;
      feedFrames(dir, held, sink, /*at_end=*/true);
    }
    resync_[d].start();
    junk_[d] = false;
    junk_held_[d] = 0;
    resync_bytes_[d] = 0;
    if (dir == Direction::kToClient) response_bytes_seen_ = 0;  // the session dropped the tail
  }

  void onEof(Direction dir, Bytes whole_tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    if (whole_tail.empty()) return;
    base_ = tail_pos;
    sink_ = &sink;
    // The tail may hold whole frames: responses that waited for requests, or
    // what a resynchronization kept while a candidate was undecided.
    const FeedResult r = feedFrames(dir, whole_tail, sink, /*at_end=*/true);
    if (r.skip > 0 || r.consumed >= whole_tail.size()) return;
    const size_t at = r.consumed;
    const Bytes tail = whole_tail.subspan(at);
    if (resync_[d].active()) {
      // A junk run still held: report it; after a gap, stay silent.
      if (junk_[d]) emitFailure(dir, sink, at, static_cast<uint32_t>(tail.size()), std::nullopt, kJunkReason);
      return;
    }
    // A frame cut short by the end of the stream. A cut request never
    // reached the broker whole, so nothing answers it: one-way. A cut
    // response still completes its request.
    const auto header = headerOf(dir, tail);
    if (dir == Direction::kToClient && header) {
      emitResponseFailure(sink, at, static_cast<uint32_t>(tail.size()), *header, "stream ends inside a message");
      return;
    }
    emitFailure(dir, sink, at, static_cast<uint32_t>(tail.size()), header, "stream ends inside a message");
  }

 private:
  struct HeaderFields {
    int16_t api_key = -1;
    int16_t api_version = -1;
    int32_t correlation_id = 0;
    uint32_t size = 0;
  };

  // The request side's resynchronization holds an undecided candidate: the
  // response side asks for it to be looked at again (FeedResult::wake_peer).
  bool requestsUndecided() const {
    const int d = static_cast<int>(Direction::kToServer);
    return resync_[d].waiting() && !junk_[d];
  }

  static FeedResult done(size_t pos) { return FeedResult{static_cast<uint32_t>(pos), 0, 0}; }
  static FeedResult needMore(size_t pos, uint32_t needed) {
    return FeedResult{static_cast<uint32_t>(pos), needed, 0};
  }

  void enterJunk(int d) {
    resync_[d].start();
    junk_[d] = true;
    junk_held_[d] = 1;  // the frame start just rejected
    resync_bytes_[d] = 0;
  }

  uint32_t clampNeed(uint64_t need) const {
    return static_cast<uint32_t>(std::min<uint64_t>(need, limits_.max_buffered_bytes));
  }

  // Longest junk run held before it is reported in pieces; well inside the
  // buffer cap together with the header bytes a scan may wait for.
  size_t junkChunk() const {
    return std::max<size_t>(1, std::min<size_t>(kMaxJunkRun, limits_.max_buffered_bytes / 2));
  }

  // While in sync, a frame is trusted when its size and header could be
  // Kafka: requests with a sane key/version/client_id, responses with any
  // correlation id (responses carry nothing else to check).
  bool framePlausible(Direction dir, Bytes rest, uint32_t size) const {
    if (size >= 0x80000000u) return false;
    if (dir == Direction::kToClient) return size >= kMinResponseSize;
    if (size < kMinRequestSize) return false;
    const int16_t key = be16s(rest.subspan(4));
    const int16_t version = be16s(rest.subspan(6));
    if (key < 0 || key > kMaxFutureApiKey || version < 0 || version > kMaxFutureApiVersion) return false;
    if (size >= 10 && rest.size() >= kRequestProbeBytes && requestHeaderHasClientId(key, version)) {
      const int16_t id_len = be16s(rest.subspan(12));
      if (id_len < -1 || (id_len > 0 && static_cast<uint32_t>(id_len) > size - 10)) return false;
    }
    return true;
  }

  // Kafka's grammar for the resynchronization engine: a strict request
  // header whose correlation id follows and whose body decodes, or a
  // response whose correlation id a pending request awaits and whose body
  // decodes with that request's API (or is followed by the next frame's
  // size). Each is sure on its own.
  struct Grammar final : FrameGrammar {
    Grammar(const KafkaDecoder& decoder, Direction dir, uint64_t passed, bool at_end)
        : self(decoder), dir(dir), passed(passed), at_end(at_end) {}
    FrameGuess guess(Bytes data, size_t at) const noexcept override {
      const Bytes b = data.subspan(at);
      uint32_t needed = 0;
      const Check c = dir == Direction::kToServer ? self.requestCandidate(b, passed + at, needed)
                                                  : self.responseCandidate(b, at_end, needed);
      if (c == Check::kNo) return FrameGuess::no();
      if (c == Check::kNeedMore) return FrameGuess::needMore(needed);
      return FrameGuess::sureFrame(uint64_t{be32(b)} + 4);
    }
    const KafkaDecoder& self;
    Direction dir;
    uint64_t passed;  // bytes this resynchronization went over before `data`
    bool at_end;
  };

  // A request header candidate at `at` (`passed` bytes into the
  // resynchronization); `needed` says how many bytes to wait for when
  // undecided (0: any more).
  Check requestCandidate(Bytes at, uint64_t passed, uint32_t& needed) const {
    Check c = strictRequestHeader(at, limits_.max_message_bytes);
    // Both checks below come before the client_id is complete, so a false
    // header cannot make the search wait for it.
    if (c != Check::kNo && at.size() >= 12) {
      // ControlledShutdown v0 (header v0, no client_id to check) is an old
      // broker-to-controller request no client sends; inside a lost payload
      // its 8 header bytes match far too easily.
      if (!requestHeaderHasClientId(be16s(at.subspan(4)), be16s(at.subspan(6))) ||
          !correlationIdFollows(static_cast<int32_t>(be32(at.subspan(8))), passed)) {
        c = Check::kNo;
      }
    }
    if (c != Check::kYes) return c;
    c = candidateBodyDecodes(at);
    if (c == Check::kNeedMore) needed = candidateWants(at);
    return c;
  }

  // A response header candidate: an awaited correlation id behind a sane
  // size, and then evidence that a frame really starts here, because small
  // correlation ids (clients count from 0 or 1) are common bytes in any
  // payload: the body must decode with the awaited request's API where we
  // know it, and otherwise the next frame must start where this one ends.
  Check responseCandidate(Bytes at, bool at_end, uint32_t& needed) const {
    if (at.size() < kResponseHeaderBytes) return Check::kNeedMore;
    const uint32_t size = be32(at);
    if (size < kMinResponseSize + 2 || size > limits_.max_message_bytes || size >= 0x80000000u) return Check::kNo;
    const std::optional<Pending> request = awaited(static_cast<int32_t>(be32(at.subspan(4))));
    if (!request) return Check::kNo;
    const uint64_t total = uint64_t{size} + 4;
    if (bodyDecoded(request->api_key, request->api_version)) {
      ResponseInfo info;
      L7Fields scratch;
      const Check c = judgeCandidate(at, parseResponse(judged(at), *request, info, scratch));
      if (c == Check::kNeedMore) needed = candidateWants(at);
      return c;
    }
    // Too large to wait for the next frame: taken on its header.
    if (total + 4 > limits_.max_buffered_bytes / 4) return Check::kYes;
    if (at.size() < total + 4) {
      if (at_end && at.size() >= total) return Check::kYes;  // the last frame of the stream
      needed = static_cast<uint32_t>(total + 4);
      return Check::kNeedMore;
    }
    const uint32_t next = be32(at.subspan(static_cast<size_t>(total)));
    return next >= kMinResponseSize && next < 0x80000000u && next <= limits_.max_message_bytes ? Check::kYes
                                                                                             : Check::kNo;
  }

  // Clients number their requests with a counter (librdkafka, the Java
  // client, sarama, franz-go all add one per request), so the first request
  // after lost bytes follows the last one seen by a small step: the number
  // of requests lost. A header inside a payload almost never does. Over
  // kCorrelationWindowBytes of searching (a client that numbers otherwise),
  // any correlation id is accepted again.
  bool correlationIdFollows(int32_t correlation_id, uint64_t passed) const {
    if (!last_request_correlation_id_ || passed >= kCorrelationWindowBytes) return true;
    const uint32_t step = static_cast<uint32_t>(correlation_id) - static_cast<uint32_t>(*last_request_correlation_id_);
    return step >= 1 && step <= kMaxCorrelationStep;
  }

  // A header inside a payload can look right by chance, so a candidate's
  // body must decode too (APIs whose bodies we know): the whole frame, or
  // for a frame too large to wait for, its first window's worth (a quarter
  // of the buffer cap, so held junk plus the candidate stays well inside
  // the cap) must parse as its beginning. A huge declared size is no reason
  // to believe a header (one such inside a lost payload swallowed the rest
  // of a stream).
  // While the window is incomplete, what has arrived must parse as its
  // beginning: a false candidate inside a lost payload must not hold back
  // the real frames behind it until its declared size has arrived
  // (responses meanwhile would miss their requests).
  Check candidateBodyDecodes(Bytes at) const {
    if (!decodesBody(be16s(at.subspan(4)))) return Check::kYes;
    HeaderFields h;
    RequestInfo info;
    L7Fields scratch;
    return judgeCandidate(at, parseRequest(judged(at), h, info, scratch));
  }

  // The part of a candidate frame judged: all of it, or its first window.
  uint64_t candidateWindow(Bytes at) const {
    return std::min<uint64_t>(uint64_t{be32(at)} + 4, limits_.max_buffered_bytes / 4);
  }
  Bytes judged(Bytes at) const { return at.first(static_cast<size_t>(std::min<uint64_t>(candidateWindow(at), at.size()))); }
  // `e`: how the judged bytes parsed.
  Check judgeCandidate(Bytes at, WireError e) const {
    const uint64_t window = candidateWindow(at);
    const bool parses_so_far = e == WireError::kNone || e == WireError::kTruncated;
    if (at.size() < window) return parses_so_far ? Check::kNeedMore : Check::kNo;
    if (window < uint64_t{be32(at)} + 4) return parses_so_far ? Check::kYes : Check::kNo;
    return e == WireError::kNone ? Check::kYes : Check::kNo;
  }

  // How many bytes an undecided candidate should wait for before it is
  // looked at again: twice what it has (so re-parsing its prefix costs
  // O(n log n) in all, whatever the segmentation), at most its window.
  uint32_t candidateWants(Bytes at) const {
    const uint64_t window = candidateWindow(at);
    if (window <= at.size()) return 0;
    return static_cast<uint32_t>(std::min<uint64_t>(window, std::max<uint64_t>(at.size() * 2, at.size() + 256)));
  }

  // The request a response with this correlation id answers, from the
  // session's pending store (none without decoder state, max_pending 0).
  std::optional<Pending> awaited(int32_t correlation_id) const {
    if (limits_.max_pending == 0 || sink_ == nullptr) return std::nullopt;
    const std::optional<uint64_t> context = sink_->pendingContext(PairKey{0, static_cast<uint32_t>(correlation_id)});
    if (!context) return std::nullopt;
    return Pending::of(*context);
  }

  std::optional<HeaderFields> headerOf(Direction dir, Bytes frame) const {
    HeaderFields h;
    ByteReader r(frame);
    if (!r.u32be(h.size)) return std::nullopt;
    if (dir == Direction::kToServer) {
      if (!r.i16be(h.api_key) || !r.i16be(h.api_version) || !r.i32be(h.correlation_id)) return std::nullopt;
      return h;
    }
    if (!r.i32be(h.correlation_id)) return std::nullopt;
    if (const std::optional<Pending> request = awaited(h.correlation_id)) {
      h.api_key = request->api_key;
      h.api_version = request->api_version;
    }
    return h;
  }

  static void fillHeader(L7Fields& f, const HeaderFields& h, Direction dir) {
    if (h.api_key >= 0) {
      f.request_type = requestTypeName(h.api_key);
      f.version = std::to_string(h.api_version);
    }
    f.request_id = h.correlation_id;
    const std::string id = std::to_string(h.correlation_id);
    if (dir == Direction::kToServer) {
      f.x_request_id_0 = id;
      f.request_length = h.size;
    } else {
      f.x_request_id_1 = id;
      f.response_length = h.size;
    }
  }

  void emitFailure(Direction dir, MessageSink& sink, size_t offset, uint32_t wire_size,
                   const std::optional<HeaderFields>& header, std::string_view reason) {
    Message m;
    m.kind = MessageKind::kOneWay;
    m.pos = base_ + offset;
    m.wire_size = wire_size;
    if (header) fillHeader(m.fields, *header, dir);
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception.assign(reason);
    sink.onMessage(dir, std::move(m));
  }

  // A frame over max_message_bytes whose header could be read: reported
  // like a body that does not decode, so a request still pairs with its
  // response and a response still completes its request.
  void emitFrameFailure(Direction dir, MessageSink& sink, size_t offset, uint32_t wire_size,
                        const std::optional<HeaderFields>& header, std::string_view reason) {
    if (!header) return emitFailure(dir, sink, offset, wire_size, header, reason);
    if (dir == Direction::kToServer) {
      last_request_correlation_id_ = header->correlation_id;
      return emitRequestFailure(sink, offset, wire_size, *header, RequestInfo{}, std::string(reason));
    }
    emitResponseFailure(sink, offset, wire_size, *header, std::string(reason));
  }

  // A request whose header decoded but whose body did not. The broker
  // answers its correlation_id like any other (with an error code, often),
  // so it stays a request and waits for that answer: the exchange is one
  // record, status 6 with the reason, not a status-6 record plus a
  // response nobody asked for. Only a Produce with acks=0 (when acks could
  // be read) expects nothing and is one-way.
  void emitRequestFailure(MessageSink& sink, size_t offset, uint32_t wire_size, const HeaderFields& h,
                          const RequestInfo& info, std::string reason) {
    const Direction dir = Direction::kToServer;
    // Without decoder state (max_pending 0) the answer could not carry the
    // status 6 on, and the merge would show the answer's status instead.
    const bool pairs = info.expects_response && limits_.max_pending > 0;
    Message m;
    m.kind = pairs ? MessageKind::kRequest : MessageKind::kOneWay;
    if (pairs) m.key = PairKey{0, static_cast<uint32_t>(h.correlation_id)};
    m.pos = base_ + offset;
    m.wire_size = wire_size;
    fillHeader(m.fields, h, dir);
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::move(reason);
    if (pairs) m.context = contextOf(h, info);
    sink.onMessage(dir, std::move(m));
  }

  // A response that does not decode (or is cut, or is over the size cap).
  // With its request remembered it completes that request (status 6 and
  // the reason); alone it is a one-way status-6 message, as junk is.
  void emitResponseFailure(MessageSink& sink, size_t offset, uint32_t wire_size, HeaderFields h, std::string reason) {
    const Direction dir = Direction::kToClient;
    const std::optional<Pending> request = awaited(h.correlation_id);
    if (!request) return emitFailure(dir, sink, offset, wire_size, h, reason);
    h.api_key = request->api_key;
    h.api_version = request->api_version;
    Message m;
    m.kind = MessageKind::kResponse;
    m.key = PairKey{0, static_cast<uint32_t>(h.correlation_id)};
    m.pos = base_ + offset;
    m.wire_size = wire_size;
    fillHeader(m.fields, h, dir);
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::move(reason);
    sink.onMessage(dir, std::move(m));
  }

  // `frame` is the whole frame, or its first max_buffered_bytes when the
  // frame is larger (`total` says how large), in which case running out of
  // bytes is expected and not a failure.
  void decodeFrame(Direction dir, Bytes frame, uint64_t total, size_t offset, MessageSink& sink) {
    const bool prefix_only = frame.size() < total;
    const uint32_t wire_size = static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
    // Counted for the messages decoded, not for the candidates resync tries.
    const uint64_t hits_before = budget_.hits;
    if (dir == Direction::kToServer) {
      decodeRequest(frame, prefix_only, wire_size, offset, sink);
    } else {
      decodeResponse(frame, prefix_only, wire_size, offset, sink);
    }
    if (budget_.hits != hits_before) sink.onCapHit(CapHit::kDecompressionBudget);
  }

  bool failed(WireError e, bool prefix_only) const {
    return e != WireError::kNone && !(prefix_only && e == WireError::kTruncated);
  }

  // Header and body of a request frame (or its prefix), without touching
  // connection state, so the resynchronizer can try candidates with it.
  WireError parseRequest(Bytes frame, HeaderFields& h, RequestInfo& info, L7Fields& f) const {
    ByteReader hr(frame);
    hr.u32be(h.size);
    hr.i16be(h.api_key);
    hr.i16be(h.api_version);
    hr.i32be(h.correlation_id);
    const bool flexible = isFlexible(h.api_key, h.api_version);
    KafkaReader r(hr.rest(), flexible, limits_.max_array_count);
    if (requestHeaderHasClientId(h.api_key, h.api_version)) {
      // client_id keeps the classic encoding even in request header v2.
      KafkaReader classic(hr.rest(), false, limits_.max_array_count);
      std::string_view client_id;
      if (!classic.string(client_id)) return classic.error();
      r = KafkaReader(classic.raw().rest(), flexible, limits_.max_array_count);
    }
    if (!decodesBody(h.api_key) || h.api_version > apiMaxVersion(h.api_key)) return WireError::kNone;
    if (!r.tags()) return r.error();
    const BodyOptions o{h.api_version, &limits_, &budget_};
    switch (h.api_key) {
      case api::kProduce: return decodeProduceRequest(r, o, info, f);
      case api::kFetch: return decodeFetchRequest(r, o, info);
      case api::kApiVersions: return decodeApiVersionsRequest(r, o);
      default: return decodeGroupRequest(r, h.api_key, o, info);
    }
  }

  static bool bodyDecoded(int16_t api_key, int16_t api_version) {
    return decodesBody(api_key) && api_version <= apiMaxVersion(api_key);
  }

  // The body of a response frame (or its prefix) to `request`, whose API
  // decodes bodies, without touching connection state, so the
  // resynchronizer can try candidates with it.
  WireError parseResponse(Bytes frame, const Pending& request, ResponseInfo& info, L7Fields& f) const {
    ByteReader hr(frame);
    uint32_t size = 0;
    int32_t correlation_id = 0;
    hr.u32be(size);
    hr.i32be(correlation_id);
    KafkaReader r(hr.rest(), isFlexible(request.api_key, request.api_version), limits_.max_array_count);
    if (responseHeaderHasTags(request.api_key, request.api_version) && !r.tags()) return r.error();
    const BodyOptions o{request.api_version, &limits_, &budget_};
    switch (request.api_key) {
      case api::kProduce: return decodeProduceResponse(r, o, request.first, info);
      case api::kFetch: return decodeFetchResponse(r, o, info, f);
      case api::kApiVersions: return decodeApiVersionsResponse(r, o, info);
      default: return decodeGroupResponse(r, request.api_key, o, info);
    }
  }

  void decodeRequest(Bytes frame, bool prefix_only, uint32_t wire_size, size_t offset, MessageSink& sink) {
    const Direction dir = Direction::kToServer;
    HeaderFields h;
    Message m;
    L7Fields& f = m.fields;
    RequestInfo info;
    const WireError err = parseRequest(frame, h, info, f);
    last_request_correlation_id_ = h.correlation_id;
    if (failed(err, prefix_only)) {
      emitRequestFailure(sink, offset, wire_size, h, info,
                         requestTypeName(h.api_key) + " request: " + std::string(wireErrorText(err)));
      return;
    }
    m.kind = MessageKind::kRequest;
    m.key = PairKey{0, static_cast<uint32_t>(h.correlation_id)};
    m.pos = base_ + offset;
    m.wire_size = wire_size;
    fillHeader(f, h, dir);
    f.response_status = ResponseStatus::kUnknown;
    // What decoding its answer needs (an acks=0 Produce is answered by nothing).
    if (info.expects_response) m.context = contextOf(h, info);
    if (!info.first.topic.empty()) {
      f.request_domain = info.first.topic;
      if (info.first.partition) {
        f.endpoint = topicPartition(info.first);
        if (info.fetch_offset) f.request_resource = f.endpoint + ":" + std::to_string(*info.fetch_offset);
      }
    }
    if (isGroupApi(h.api_key)) f.attributes.push_back({"group_id", info.group_id});
    sink.onMessage(dir, std::move(m));
  }

  void decodeResponse(Bytes frame, bool prefix_only, uint32_t wire_size, size_t offset, MessageSink& sink) {
    const Direction dir = Direction::kToClient;
    HeaderFields h;
    ByteReader hr(frame);
    hr.u32be(h.size);
    hr.i32be(h.correlation_id);
    const std::optional<Pending> request = awaited(h.correlation_id);
    if (request) {
      h.api_key = request->api_key;
      h.api_version = request->api_version;
    }
    Message m;
    m.kind = MessageKind::kResponse;
    m.key = PairKey{0, static_cast<uint32_t>(h.correlation_id)};
    m.pos = base_ + offset;
    m.wire_size = wire_size;
    L7Fields& f = m.fields;
    fillHeader(f, h, dir);
    f.response_status = ResponseStatus::kUnknown;
    if (!request || !bodyDecoded(h.api_key, h.api_version)) {
      // Header only: the tables take nothing else from these responses
      // (and without the request its API is unknown). Their error code
      // still says whether the exchange worked (extension, kafka.tsv).
      if (request) readErrorCode(frame, *request, f);
      sink.onMessage(dir, std::move(m));
      return;
    }
    ResponseInfo info;
    const WireError err = parseResponse(frame, *request, info, f);
    if (failed(err, prefix_only)) {
      // Its request is known (bodies are decoded only then): the response
      // completes it, so the exchange is one status-6 record.
      Message bad;
      bad.kind = MessageKind::kResponse;
      bad.key = m.key;
      bad.pos = m.pos;
      bad.wire_size = wire_size;
      fillHeader(bad.fields, h, dir);
      bad.fields.response_status = ResponseStatus::kParseFailed;
      bad.fields.response_exception = requestTypeName(h.api_key) + " response: " + std::string(wireErrorText(err));
      sink.onMessage(dir, std::move(bad));
      return;
    }
    if (info.error_code) {
      if (mapsErrorCode(h.api_key)) {
        setErrorCode(f, *info.error_code);
        // Which partition failed (the table's columns name the first).
        if (*info.error_code != 0 && info.failed.partition) {
          f.response_exception += " (partition " + topicPartition(info.failed) + ")";
        }
      } else {
        // ApiVersions: the tables map no code, but its error_code still
        // says whether the exchange worked (extension, see README).
        f.response_status = *info.error_code == 0 ? ResponseStatus::kOk : ResponseStatus::kServerError;
        f.response_exception.assign(errorDescription(*info.error_code));
      }
    }
    if (!info.first.topic.empty()) {
      f.request_domain = info.first.topic;
      if (info.first.partition) {
        f.endpoint = topicPartition(info.first);
        if (info.base_offset) f.request_resource = f.endpoint + ":" + std::to_string(*info.base_offset);
      }
    }
    sink.onMessage(dir, std::move(m));
  }

  // The error code of a response whose body the table does not use: status
  // and exception, not response_code (the table maps codes for five APIs).
  void readErrorCode(Bytes frame, const Pending& request, L7Fields& f) const {
    KafkaReader r(frame.subspan(std::min<size_t>(frame.size(), kResponseHeaderBytes)),
                  isFlexible(request.api_key, request.api_version), limits_.max_array_count);
    if (responseHeaderHasTags(request.api_key, request.api_version) && !r.tags()) return;
    const std::optional<int16_t> code = firstErrorCode(r, request.api_key, request.api_version);
    if (!code) return;
    f.response_status = *code == 0 ? ResponseStatus::kOk : ResponseStatus::kServerError;
    f.response_exception.assign(errorDescription(*code));
  }

  static uint64_t contextOf(const HeaderFields& h, const RequestInfo& info) {
    Pending p;
    p.api_key = h.api_key;
    p.api_version = h.api_version;
    if (info.first.partition) p.first = partitionDigest(info.first.topic, *info.first.partition);
    return p.context();
  }

  DecoderLimits limits_;
  // Spent by parsing, which is const so that resync can try candidates
  // without touching connection state; inflating them costs all the same.
  mutable DecompressionBudget budget_;
  // Requests: a whole request behind a start in question is taken first
  // (README, "Resynchronization"). Responses: the earliest start.
  Resync resync_[2];
  bool junk_[2] = {false, false};  // resync caused by junk (not by a gap)
  size_t junk_held_[2] = {0, 0};   // junk bytes at the tail's front, passed over but not yet reported
  uint64_t resync_bytes_[2] = {0, 0};  // bytes passed over by the current resynchronization
  std::optional<int32_t> last_request_correlation_id_;
  // Response bytes already given to feed() and left in the tail: more than
  // these are new (asking for the request side is once per new bytes, not
  // again when the session feeds the same ones after the request side, or
  // the rest after a message).
  size_t response_bytes_seen_ = 0;
  bool responses_wait_ = false;  // the response side asked for the requests to be looked at first
  uint64_t base_ = 0;            // stream position of the span being decoded
  const MessageSink* sink_ = nullptr;  // the session's pending store, while decoding
};

std::unique_ptr<Decoder> createKafka(const DecoderLimits& limits) { return std::make_unique<KafkaDecoder>(limits); }

}  // namespace

ProbeVerdict probeKafka(Bytes first_bytes) noexcept {
  switch (strictRequestHeader(first_bytes, DecoderLimits{}.max_message_bytes)) {
    case Check::kYes: return ProbeVerdict::kFromClient;
    case Check::kNeedMore: return ProbeVerdict::kNeedMore;
    case Check::kNo: break;
  }
  return ProbeVerdict::kNo;
}

const DecoderInfo& kafkaDecoderInfo() {
  // A request that did not decode keeps its status 6 and reason in the
  // exchange; the broker's answer (its error code, often CORRUPT_MESSAGE)
  // fills the other response columns.
  static const DecoderInfo info{L7Protocol::kKafka, "Kafka", "kafka", kPorts, &probeKafka, &createKafka, kVersions,
                                &mergeKeepingRequestFailure};
  return info;
}

}  // namespace l7::kafka
