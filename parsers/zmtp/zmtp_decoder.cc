#include "zmtp/zmtp_decoder.h"

#include <algorithm>
#include <string>

#include "l7/resync.h"

namespace l7::zmtp {
namespace {

// signature(10) version(2) mechanism(20) as-server(1) filler(31): RFC 23 §4.
constexpr size_t kGreetingBytes = 64;
constexpr size_t kSignatureBytes = 10;
// ZMTP 2.0 (RFC 15): signature(10) revision(1) socket-type(1) identity(flags, size, body).
constexpr size_t kGreeting2Prefix = 14;
// Requests and replies of REQ/REP-like pairs pair by order on one lane.
constexpr uint32_t kLaneRequestReply = 1;
// Data frames up to this size are waited for whole; larger ones are
// decoded from their header (and a subscription's first bytes) and their
// body passed over unseen, so a large message is never buffered.
constexpr uint64_t kWholeFrameBytes = 64 * 1024;
// A side whose messages wait for the peer's socket type stops waiting when
// this much is held (or the buffering cap, if lower): classification is
// then made with what is known.
constexpr size_t kMaxWaitBytes = 64 * 1024;
constexpr uint64_t kNoResume = UINT64_MAX;
// Resynchronizing, more empty messages in a row than this read as a run
// of zeros inside a payload, not as messages.
constexpr size_t kMaxEmptyRun = 2 * 16;

enum class Mechanism : uint8_t { kUnknown, kNull, kPlain, kCurve, kOther };

enum class SocketType : uint8_t {
  kUnknown, kPair, kPub, kSub, kReq, kRep, kDealer, kRouter, kPull, kPush, kXPub, kXSub, kOther
};

struct SocketName {
  std::string_view name;
  SocketType type;
};
// RFC 23 §5.3 names; the order is libzmq's socket numbers, which ZMTP 2.0
// greetings carry (ZMQ_PAIR 0 ... ZMQ_XSUB 10).
constexpr SocketName kSocketTypes[] = {
    {"PAIR", SocketType::kPair}, {"PUB", SocketType::kPub},       {"SUB", SocketType::kSub},
    {"REQ", SocketType::kReq},   {"REP", SocketType::kRep},       {"DEALER", SocketType::kDealer},
    {"ROUTER", SocketType::kRouter}, {"PULL", SocketType::kPull}, {"PUSH", SocketType::kPush},
    {"XPUB", SocketType::kXPub}, {"XSUB", SocketType::kXSub},
};

SocketType socketTypeByName(std::string_view name) {
  for (const SocketName& s : kSocketTypes) {
    if (s.name == name) return s.type;
  }
  return SocketType::kOther;
}

SocketType socketTypeByNumber(uint8_t n) {
  return n < std::size(kSocketTypes) ? kSocketTypes[n].type : SocketType::kOther;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

bool isAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

bool allAlpha(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), isAlpha); }

// RFC 23 §5.3: name-char = ALPHA / DIGIT / "-" / "_" / "." / "+".
bool isPropertyName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return isAlpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '+';
  });
}

// The commands RFC 23, 24, 26 and 37 define: a frame with one of these
// names is ZMTP beyond reasonable doubt.
bool knownCommand(std::string_view name) {
  static constexpr std::string_view kNames[] = {"READY", "ERROR",     "HELLO",  "WELCOME", "INITIATE", "MESSAGE",
                                                "PING",  "PONG",      "SUBSCRIBE", "CANCEL", "JOIN",   "LEAVE"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

// libzmq 4.3 (up to 4.3.5 at least) writes ERROR's name size as 0x5E
// ("\x5ERROR" in its source reads the E as a hex digit): 0x5E then "RROR"
// is that ERROR, as DeepFlow also reads it.
constexpr std::string_view kLibzmqError("\x5E" "RROR", 5);

// CURVE (RFC 26 §3.6): every message frame is a MESSAGE command, which
// libzmq 4.3 writes in a data frame (flags 0, the frame's own flags boxed).
constexpr std::string_view kCurveMessage("\x07MESSAGE", 8);

struct FrameHeader {
  uint8_t flags = 0;
  uint64_t size = 0;
  uint8_t header_bytes = 0;
  bool more() const { return (flags & 0x01) != 0; }
  bool command() const { return (flags & 0x04) != 0; }
  uint64_t total() const { return header_bytes + size; }
};

enum class Check : uint8_t { kNeedMore, kBad, kOk };

// RFC 23 §5.1: flags bit 0 MORE, bit 1 LONG, bit 2 COMMAND, the rest 0; a
// command has no MORE. ZMTP 2.0 has no COMMAND bit.
Check readFrameHeader(Bytes b, bool allow_command, FrameHeader& h) {
  if (b.empty()) return Check::kNeedMore;
  const uint8_t flags = b[0];
  if ((flags & 0xF8) != 0) return Check::kBad;
  if ((flags & 0x04) != 0 && (!allow_command || (flags & 0x01) != 0)) return Check::kBad;
  h.flags = flags;
  if ((flags & 0x02) != 0) {
    if (b.size() < 9) return Check::kNeedMore;
    ByteReader r(b.subspan(1));
    r.u64be(h.size);
    h.header_bytes = 9;
  } else {
    if (b.size() < 2) return Check::kNeedMore;
    h.size = b[1];
    h.header_bytes = 2;
  }
  return Check::kOk;
}

struct Greeting {
  uint8_t major = 0;
  uint8_t minor = 0;
  size_t size = 0;
  Mechanism mechanism = Mechanism::kUnknown;
  std::string_view mechanism_name;
  bool as_server = false;
  SocketType type = SocketType::kUnknown;  // 2.0: in the greeting
  std::string_view identity;               // 2.0
  bool zero_filler = true;
};

// A greeting at b[0] == 0xFF. 3.x needs all 64 bytes; 2.0 its identity.
Check readGreeting(Bytes b, Greeting& g, const char*& why) {
  if (b.size() < kSignatureBytes + 1) return Check::kNeedMore;
  // libzmq checks bit 0 only (ZMTP 1.0 peers read the signature as a frame).
  if ((b[9] & 0x01) == 0) {
    why = "greeting signature without its final 0x7F";
    return Check::kBad;
  }
  g.major = b[10];
  if (g.major == 0) {  // a 1.0 peer that announces itself
    g.size = kSignatureBytes + 1;
    return Check::kOk;
  }
  if (g.major == 1) {  // 2.0: revision 1
    if (b.size() < kGreeting2Prefix) return Check::kNeedMore;
    if (b[12] != 0) {
      why = "ZMTP 2.0 identity is not a final short frame";
      return Check::kBad;
    }
    g.type = socketTypeByNumber(b[11]);
    g.size = kGreeting2Prefix + b[13];
    if (b.size() < g.size) return Check::kNeedMore;
    g.identity = asText(b.subspan(kGreeting2Prefix, b[13]));
    g.mechanism = Mechanism::kNull;
    return Check::kOk;
  }
  if (b.size() < kGreetingBytes) return Check::kNeedMore;
  g.size = kGreetingBytes;
  g.minor = b[11];
  const std::string_view mech = asText(b.subspan(12, 20));
  const size_t end = std::min(mech.find('\0'), mech.size());
  g.mechanism_name = mech.substr(0, end);
  const bool padded = std::all_of(mech.begin() + static_cast<std::ptrdiff_t>(end), mech.end(), [](char c) { return c == 0; });
  const bool named = !g.mechanism_name.empty() && std::all_of(g.mechanism_name.begin(), g.mechanism_name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  if (!named || !padded) {
    why = "greeting mechanism is not an upper-case name padded with zeros";
    return Check::kBad;
  }
  g.mechanism = g.mechanism_name == "NULL"    ? Mechanism::kNull
                : g.mechanism_name == "PLAIN" ? Mechanism::kPlain
                : g.mechanism_name == "CURVE" ? Mechanism::kCurve
                                              : Mechanism::kOther;
  if (b[32] > 1) {
    why = "greeting as-server is neither 0 nor 1";
    return Check::kBad;
  }
  g.as_server = b[32] == 1;
  g.zero_filler = std::all_of(b.begin() + 33, b.begin() + 64, [](uint8_t c) { return c == 0; });
  return Check::kOk;
}

struct Metadata {
  bool has_type = false;
  std::string_view socket_type;
  std::string_view identity;
};

// RFC 23 §5.3: property = name (1-octet size) value (4-octet size).
bool readMetadata(Bytes data, uint32_t max_properties, Metadata& out) {
  ByteReader r(data);
  uint32_t count = 0;
  while (!r.empty()) {
    if (++count > max_properties) return false;
    uint8_t name_size = 0;
    uint32_t value_size = 0;
    std::string_view name, value;
    if (!r.u8(name_size) || !r.text(name_size, name) || !isPropertyName(name)) return false;
    if (!r.u32be(value_size) || !r.text(value_size, value)) return false;
    if (iequals(name, "Socket-Type")) {
      out.has_type = true;
      out.socket_type = value;
    } else if (iequals(name, "Identity")) {
      out.identity = value;
    }
  }
  return true;
}

std::string versionText(uint8_t major, uint8_t minor) { return std::to_string(major) + "." + std::to_string(minor); }

class ZmtpDecoder final : public Decoder {
 public:
  explicit ZmtpDecoder(const DecoderLimits& limits)
      : limits_(limits), resync_{Resync(rules(limits)), Resync(rules(limits))} {}

  FeedResult feed(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    Side& s = sides_[d];
    FeedResult result;
    size_t pos = 0;
    if (s.resume_at != kNoResume) {
      if (tail_pos <= s.resume_at) {
        // The rest of the frame cut by the loss: passed over.
        const uint64_t rest = s.resume_at - tail_pos;
        if (rest >= tail.size()) {
          result.consumed = static_cast<uint32_t>(tail.size());
          result.skip = rest - tail.size();
          s.resume_at = kNoResume;
          return result;
        }
        pos = static_cast<size_t>(rest);
      } else {
        // The loss took the frame boundary with it.
        if (s.discarding) s.open = false;
        closeOpen(dir, sink, "message cut by lost bytes");
        resync_[d].start();
      }
      s.resume_at = kNoResume;
    }
    while (pos < tail.size()) {
      if (s.passed_over) {  // a ZMTP 1.0 conversation (README "Known gaps")
        pos = tail.size();
        break;
      }
      if (resync_[d].active()) {
        // Bytes passed over by the search are lost to this side.
        const size_t before = pos;
        const bool found = resyncStep(resync_[d], Grammar(*this, s.mechanism, false), tail, pos,
                                      limits_.max_buffered_bytes, result.needed);
        if (pos > before) markLost(s, result);
        if (!found) break;
        s.at_start = false;
      }
      const Bytes rest = tail.subspan(pos);
      const uint64_t at = tail_pos + pos;
      if (rest[0] == 0xFF || s.at_start) {
        // 0xFF is no frame's flags: a greeting, wherever it stands.
        const Step g = decodeGreeting(dir, rest, at, sink, result);
        if (g.needed > 0) result.needed = g.needed;
        pos += g.consumed;
        if (g.consumed == 0) break;
        continue;
      }
      FrameHeader h;
      const Check check = readFrameHeader(rest, s.major != 1, h);
      if (check == Check::kNeedMore) break;
      if (check == Check::kBad) {
        closeOpen(dir, sink, "message cut by a malformed frame");
        failure(dir, sink, at, 1, "", "invalid frame flags");
        resync_[d].start();
        ++pos;
        continue;
      }
      if (h.size > limits_.max_message_bytes) {
        // A size this large is more likely lost framing than a real frame.
        closeOpen(dir, sink, "message cut by a malformed frame");
        failure(dir, sink, at, h.header_bytes, h.command() ? "Command" : "Message", "frame size over the cap");
        resync_[d].start();
        pos += h.header_bytes;
        continue;
      }
      const Step f = h.command() ? command(dir, h, rest, at, sink, result) : dataFrame(dir, h, rest, at, sink, result);
      pos += f.consumed;
      if (f.needed > 0) result.needed = f.needed;
      if (f.skip > 0) {
        result.skip = f.skip;
        break;
      }
      if (f.consumed == 0) break;
    }
    result.consumed = static_cast<uint32_t>(pos);
    result.holds_from = s.open && !s.discarding ? s.msg_pos : kHoldsNothing;
    return result;
  }

  // Lost bytes. ZMTP frames carry their size, so when the held bytes end
  // inside a frame whose header came, the frame after it starts at a known
  // position: decoding resumes there, without a search, if the loss ends
  // before it. Otherwise the shared engine finds the next frame.
  void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    Side& s = sides_[d];
    // Called before any byte: the capture joined mid-stream, and the first
    // bytes may still be the greeting (a join at the connection's start).
    const bool nothing_yet = held.empty() && !s.seen_any;
    if (held.empty() && s.resume_at != kNoResume) return;  // a second loss before the first was resumed
    uint64_t skip = 0;
    const size_t done = decodeToEnd(dir, held, pos, sink, &skip);
    s.at_start = false;
    if (!nothing_yet) s.lost = true;
    const Bytes rest = held.subspan(std::min(done, held.size()));
    FrameHeader h;
    if (!resync_[d].active() && skip > 0) {
      // Lost inside a frame passed over unseen: nothing it held is missed.
      s.resume_at = pos + done + skip;
      return;
    }
    if (!resync_[d].active() && !rest.empty() && rest[0] != 0xFF &&
        readFrameHeader(rest, s.major != 1, h) == Check::kOk && h.size <= limits_.max_message_bytes) {
      const uint64_t at = pos + done;
      s.resume_at = at + h.total();
      if (h.command()) {
        failure(dir, sink, at, rest.size(), "Command", "command cut by lost bytes");
        return;
      }
      // The cut frame's message is reported where it began; its later
      // frames, if any, are passed over up to its last.
      const bool was_open = s.open;
      if (!was_open) {
        s.open = true;
        s.msg_pos = at;
        s.msg_wire = 0;
        s.msg_body = 0;
        s.parts = 0;
      }
      s.msg_wire += rest.size();
      closeOpen(dir, sink, "message cut by lost bytes");
      if (h.more()) {
        s.open = true;
        s.discarding = true;
      }
      return;
    }
    closeOpen(dir, sink, "message cut by lost bytes");
    resync_[d].start();
  }

  void onEof(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink) noexcept override {
    const int d = static_cast<int>(dir);
    const size_t pos = decodeToEnd(dir, tail, tail_pos, sink);
    closeOpen(dir, sink, "stream ended inside a message");
    Side& s = sides_[d];
    if (pos < tail.size() && !resync_[d].active() && !s.passed_over) {
      const bool in_greeting = tail[pos] == 0xFF || s.at_start;
      failure(dir, sink, tail_pos + pos, static_cast<uint32_t>(std::min<size_t>(tail.size() - pos, UINT32_MAX)),
              in_greeting ? "Greeting" : "", in_greeting ? "stream ended inside the greeting" : "stream ended inside a frame");
    }
    s.lost = true;  // nothing more comes: the peer need not wait
  }

 private:
  struct Step {
    size_t consumed = 0;
    uint32_t needed = 0;
    uint64_t skip = 0;
  };

  struct Side {
    bool at_start = true;     // nothing decoded, no gap: a greeting (or a 1.0 identity) comes first
    uint64_t resume_at = kNoResume;  // after a loss inside a frame: where the next one starts
    bool seen_any = false;    // some byte of this side was decoded
    bool greeted = false;
    bool passed_over = false; // ZMTP 1.0
    bool lost = false;        // bytes were lost or passed over: its READY may never be seen
    bool handshake_done = false;  // READY, INITIATE or ERROR decoded (or none will be readable)
    uint8_t major = 0, minor = 0;
    Mechanism mechanism = Mechanism::kUnknown;
    SocketType type = SocketType::kUnknown;
    // The multipart message being read.
    bool open = false;
    bool discarding = false;  // over the parts cap: its frames are passed over
    uint64_t msg_pos = 0;
    uint64_t msg_wire = 0;
    uint64_t msg_body = 0;
    uint32_t parts = 0;
    int first_byte = -1;
    std::string topic;
    // What the peer needs to classify: its type, or that it cannot be known.
    bool settled() const {
      return type != SocketType::kUnknown || handshake_done || lost || passed_over ||
             mechanism == Mechanism::kCurve;
    }
  };

  static ResyncRules rules(const DecoderLimits& limits) {
    // Data frames are a flags byte and a size: random bytes pass that
    // often, so a start needs a chain of three (greetings, long headers
    // and commands with a known name are checked far more strictly).
    ResyncRules rules{3, limits.max_buffered_bytes};
    rules.denser_wins = true;
    rules.denser_tie_from = 2;  // flags and a short size
    return rules;
  }

  // ZMTP's grammar for the shared resynchronization engine.
  struct Grammar final : FrameGrammar {
    // `mechanism`: the side's, from its greeting. `at_end`: nothing follows
    // the data (an empty message may end it).
    Grammar(const ZmtpDecoder& decoder, Mechanism mechanism, bool at_end)
        : self(decoder), mechanism(mechanism), at_end(at_end) {}
    FrameGuess guess(Bytes data, size_t at) const noexcept override {
      const Bytes b = data.subspan(at);
      if (b.empty()) return FrameGuess::needMore(1);
      if (b[0] == 0xFF) {
        if (b.size() < kSignatureBytes) return FrameGuess::needMore(kSignatureBytes);
        if (b[9] != 0x7F) return FrameGuess::no();
        Greeting g;
        const char* why = nullptr;
        switch (readGreeting(b, g, why)) {
          case Check::kNeedMore:
            if (b.size() < kSignatureBytes + 1) return FrameGuess::needMore(kSignatureBytes + 1);
            return FrameGuess::needMore(b[10] == 1 ? std::max<size_t>(kGreeting2Prefix, g.size) : kGreetingBytes);
          case Check::kBad: return FrameGuess::no();
          case Check::kOk: break;
        }
        if (g.major >= 3) return g.zero_filler ? FrameGuess::sureFrame(g.size) : FrameGuess::no();
        if (g.major == 1 && g.type != SocketType::kOther) return FrameGuess::frame(g.size);
        return FrameGuess::no();
      }
      FrameHeader h;
      switch (readFrameHeader(b, true, h)) {
        case Check::kNeedMore: return FrameGuess::needMore((b[0] & 0x02) != 0 ? 9 : 2);
        case Check::kBad: return FrameGuess::no();
        case Check::kOk: break;
      }
      if (h.size > self.limits_.max_message_bytes) return FrameGuess::no();
      // libzmq writes a long size only above 255; the high bytes of a size
      // within the cap are zeros, which chance seldom gives.
      if (h.header_bytes == 9 && h.size < 256) return FrameGuess::no();
      const bool strong = h.header_bytes == 9;
      if (h.command()) {
        if (h.size == 0) return FrameGuess::no();
        if (b.size() < h.header_bytes + 1u) return FrameGuess::needMore(h.header_bytes + 1);
        const uint8_t n = b[h.header_bytes];
        if (b.size() >= h.header_bytes + kLibzmqError.size() &&
            asText(b.subspan(h.header_bytes, kLibzmqError.size())) == kLibzmqError) {
          return FrameGuess::sureFrame(h.total());
        }
        if (n == 0 || n >= h.size) return FrameGuess::no();
        if (b.size() < h.header_bytes + 1u + n) return FrameGuess::needMore(h.header_bytes + 1 + n);
        const std::string_view name = asText(b.subspan(h.header_bytes + 1, n));
        if (!allAlpha(name)) return FrameGuess::no();
        return knownCommand(name) ? FrameGuess::sureFrame(h.total()) : FrameGuess::frame(h.total());
      }
      // CURVE: after the handshake every data frame is a MESSAGE in libzmq's
      // form (flags 0, the frame's own flags boxed), and that prefix is
      // checked enough to confirm a start alone, whatever the mechanism.
      const bool curve = mechanism == Mechanism::kCurve;
      if (curve && h.more()) return FrameGuess::no();
      if (h.size >= kCurveMessage.size() && (curve || mechanism == Mechanism::kUnknown)) {
        if (b.size() < h.header_bytes + kCurveMessage.size()) return FrameGuess::needMore(h.header_bytes + kCurveMessage.size());
        if (asText(b.subspan(h.header_bytes, kCurveMessage.size())) == kCurveMessage) return FrameGuess::sureFrame(h.total());
      }
      if (curve) return FrameGuess::no();
      if (strong) return FrameGuess::strongFrame(h.total());
      // Runs of zero bytes (in payloads, and in long headers' sizes) read as
      // chains of empty final frames, so a run of empty messages is judged
      // together with the frame that follows it, as one frame of the chain:
      // a run confirms nothing by itself. A long run is none.
      if (h.size == 0 && !h.more()) {
        size_t run = 2;
        while (run + 1 < b.size() && b[run] == 0 && b[run + 1] == 0) {
          run += 2;
          if (run > kMaxEmptyRun) return FrameGuess::no();
        }
        if (run + 1 < b.size() || (run < b.size() && b[run] != 0)) {
          const FrameGuess next = guess(data, at + run);  // not an empty final frame: no deeper
          switch (next.verdict) {
            case FrameGuess::kNo: return FrameGuess::no();
            case FrameGuess::kNeedMore: return FrameGuess::needMore(next.need == 0 ? 0 : run + next.need);
            case FrameGuess::kFrame: break;
          }
          return next.sure ? FrameGuess::sureFrame(run + next.size) : FrameGuess::frame(run + next.size);
        }
        if (at_end && run == b.size()) return FrameGuess::frame(run);
        return FrameGuess::needMore(run + 2);
      }
      return FrameGuess::frame(h.total());
    }
    const ZmtpDecoder& self;
    Mechanism mechanism;
    bool at_end;
  };

  void markLost(Side& s, FeedResult& result) {
    if (!s.settled()) result.wake_peer = true;
    s.lost = true;
    s.at_start = false;
  }

  // `skip`, when given: bytes of a frame passed over that had not come.
  size_t decodeToEnd(Direction dir, Bytes tail, uint64_t tail_pos, MessageSink& sink, uint64_t* skip = nullptr) {
    const int d = static_cast<int>(dir);
    size_t pos = 0;
    if (resync_[d].active()) {
      const bool found = resyncAtEnd(resync_[d], Grammar(*this, sides_[d].mechanism, true), tail, pos);
      if (!found || pos > 0) {
        sides_[d].lost = true;
        sides_[d].at_start = false;
      }
      if (!found) return tail.size();
    }
    flushing_[d] = true;
    if (pos < tail.size()) {
      const FeedResult r = feed(dir, tail.subspan(pos), tail_pos + pos, sink);
      pos += r.consumed;
      if (skip != nullptr) *skip = r.skip;
    }
    flushing_[d] = false;
    return pos;
  }

  // The peer's socket type decides what this side's messages are; they wait
  // for it unless it can no longer come (or this side holds too much).
  bool waitsForPeer(Direction dir, size_t held) const {
    const int d = static_cast<int>(dir);
    return !flushing_[d] && !sides_[1 - d].settled() &&
           held <= std::min<uint64_t>(kMaxWaitBytes, limits_.max_buffered_bytes);
  }

  Message base(MessageKind kind, uint64_t pos, uint64_t wire, std::string type) const {
    Message m;
    m.kind = kind;
    m.pos = pos;
    m.wire_size = static_cast<uint32_t>(std::min<uint64_t>(wire, UINT32_MAX));
    m.fields.request_type = std::move(type);
    m.fields.response_status = kind == MessageKind::kRequest ? ResponseStatus::kUnknown : ResponseStatus::kOk;
    return m;
  }

  static void setLength(Direction dir, Message& m, uint64_t body) {
    const bool request_side =
        m.kind == MessageKind::kRequest || (m.kind == MessageKind::kOneWay && dir == Direction::kToServer);
    (request_side ? m.fields.request_length : m.fields.response_length) = static_cast<int64_t>(body);
  }

  void failure(Direction dir, MessageSink& sink, uint64_t pos, uint64_t wire, std::string_view type,
               std::string_view why) const {
    Message m = base(MessageKind::kOneWay, pos, wire, std::string(type));
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::string(why);
    sink.onMessage(dir, std::move(m));
  }

  Step decodeGreeting(Direction dir, Bytes rest, uint64_t at, MessageSink& sink, FeedResult& result) {
    Side& s = sides_[static_cast<int>(dir)];
    Step step;
    if (rest[0] != 0xFF) {
      // RFC 23 §4.1 (backwards interoperability): a peer whose first byte
      // is not 0xFF speaks ZMTP 1.0, whose first frame is its identity
      // (RFC 13: a 1-octet length counting the flags, final flags 0).
      if (rest.size() < 2) return step;
      if (rest[1] != 0 || rest[0] == 0) {
        failure(dir, sink, at, 1, "Greeting", "neither a ZMTP greeting nor a ZMTP 1.0 identity");
        resync_[static_cast<int>(dir)].start();
        markLost(s, result);
        step.consumed = 1;
        return step;
      }
      Message m = base(MessageKind::kOneWay, at, 1u + rest[0], "Greeting");
      m.fields.version = "1.0";
      sink.onMessage(dir, std::move(m));
      s.passed_over = true;
      s.at_start = false;
      result.wake_peer = true;
      step.consumed = rest.size();
      return step;
    }
    Greeting g;
    const char* why = "";
    switch (readGreeting(rest, g, why)) {
      case Check::kNeedMore:
        step.needed = static_cast<uint32_t>(rest.size() < kSignatureBytes + 1 ? kSignatureBytes + 1
                                            : rest[10] == 1 ? std::max<size_t>(kGreeting2Prefix, g.size)
                                                            : kGreetingBytes);
        return step;
      case Check::kBad:
        failure(dir, sink, at, kSignatureBytes, "Greeting", why);
        resync_[static_cast<int>(dir)].start();
        markLost(s, result);
        step.consumed = kSignatureBytes;
        return step;
      case Check::kOk:
        break;
    }
    const bool was_settled = s.settled();
    s.at_start = false;
    s.seen_any = true;
    s.greeted = true;
    s.major = g.major;
    s.minor = g.minor;
    s.mechanism = g.mechanism;
    Message m = base(MessageKind::kOneWay, at, g.size, "Greeting");
    if (g.major == 0) {
      m.fields.version = "1.0";
      s.passed_over = true;
    } else if (g.major == 1) {
      m.fields.version = "2.0";
      s.type = g.type;
      m.fields.attributes.push_back({"socket_type", socketName(g.type, "")});
      if (!g.identity.empty()) m.fields.attributes.push_back({"identity", std::string(g.identity)});
    } else {
      m.fields.version = versionText(g.major, g.minor);
      m.fields.attributes.push_back({"mechanism", std::string(g.mechanism_name)});
      m.fields.attributes.push_back({"as_server", g.as_server ? "1" : "0"});
    }
    sink.onMessage(dir, std::move(m));
    if (!was_settled && s.settled()) result.wake_peer = true;
    step.consumed = g.size;
    return step;
  }

  static std::string socketName(SocketType t, std::string_view raw) {
    for (const SocketName& s : kSocketTypes) {
      if (s.type == t) return std::string(s.name);
    }
    return std::string(raw);
  }

  Step command(Direction dir, const FrameHeader& h, Bytes rest, uint64_t at, MessageSink& sink, FeedResult& result) {
    Side& s = sides_[static_cast<int>(dir)];
    Step step;
    const uint64_t total = h.total();
    if (h.size > kMaxCommandBytes || total > limits_.max_buffered_bytes) {
      // Too large to hold. Only a CURVE MESSAGE (a user's message) may be:
      // it is read from its name and passed over.
      const size_t prefix = h.header_bytes + static_cast<size_t>(std::min<uint64_t>(h.size, 8));
      if (rest.size() < prefix) {
        step.needed = static_cast<uint32_t>(prefix);
        return step;
      }
      const Bytes name = rest.subspan(h.header_bytes, prefix - h.header_bytes);
      s.seen_any = true;
      if (asText(name) == std::string_view("\x07MESSAGE", 8)) {
        Message m = base(MessageKind::kOneWay, at, total, "Command MESSAGE");
        setLength(dir, m, h.size - 8);
        sink.onMessage(dir, std::move(m));
      } else {
        failure(dir, sink, at, total, "Command", "command over the size cap");
      }
      step.consumed = std::min<size_t>(rest.size(), static_cast<size_t>(std::min<uint64_t>(total, SIZE_MAX)));
      step.skip = total - step.consumed;
      return step;
    }
    if (total > rest.size()) {
      step.needed = static_cast<uint32_t>(total);
      return step;
    }
    s.seen_any = true;
    step.consumed = static_cast<size_t>(total);
    decodeCommand(dir, rest.subspan(h.header_bytes, static_cast<size_t>(h.size)), at, total, sink, result);
    return step;
  }

  void decodeCommand(Direction dir, Bytes body, uint64_t at, uint64_t total, MessageSink& sink, FeedResult& result) {
    Side& s = sides_[static_cast<int>(dir)];
    ByteReader r(body);
    uint8_t n = 0;
    std::string_view name;
    if (asText(body.first(std::min(body.size(), kLibzmqError.size()))) == kLibzmqError) {
      r.skip(kLibzmqError.size());
      name = "ERROR";
    } else if (!r.u8(n) || !r.text(n, name) || !allAlpha(name)) {
      return failure(dir, sink, at, total, "Command", "invalid command name");
    }
    const Bytes data = r.rest();
    Message m = base(MessageKind::kOneWay, at, total, "Command " + std::string(name));
    setLength(dir, m, body.size());
    auto malformed = [&](std::string_view why) {
      m.fields.response_status = ResponseStatus::kParseFailed;
      m.fields.response_exception = std::string(why);
    };
    const bool was_settled = s.settled();
    const bool handshake = name == "READY" || name == "INITIATE" || name == "HELLO" || name == "WELCOME" || name == "ERROR";
    if (!s.greeted && !handshake) s.lost = true;  // as for a message (dataFrame)
    if (name == "READY" || name == "INITIATE") {
      // Under CURVE both are boxes (RFC 26); their metadata is unreadable.
      const bool readable = s.mechanism != Mechanism::kCurve && !(name == "INITIATE" && s.mechanism != Mechanism::kPlain &&
                                                                  s.mechanism != Mechanism::kUnknown);
      if (readable) {
        Metadata meta;
        if (!readMetadata(data, limits_.max_array_count, meta)) {
          // Only NULL and PLAIN promise clear metadata; another mechanism
          // (or an unknown one, mid-stream) may box it.
          if (s.mechanism == Mechanism::kNull || s.mechanism == Mechanism::kPlain) malformed("malformed metadata");
        } else {
          if (meta.has_type) {
            s.type = socketTypeByName(meta.socket_type);
            m.fields.attributes.push_back({"socket_type", std::string(meta.socket_type)});
          }
          if (!meta.identity.empty()) m.fields.attributes.push_back({"identity", std::string(meta.identity)});
        }
      }
      if (name == "READY" || s.mechanism == Mechanism::kPlain) s.handshake_done = true;
    } else if (name == "ERROR") {
      ByteReader e(data);
      uint8_t size = 0;
      std::string_view reason;
      if (!e.u8(size) || !e.text(size, reason)) {
        malformed("ERROR reason truncated");
      } else {
        m.fields.response_exception = std::string(reason);
        m.fields.response_status = errorStatus(dir, reason);
      }
      s.handshake_done = true;
    } else if (name == "SUBSCRIBE" || name == "CANCEL") {
      const std::string topic(asText(data.first(std::min<size_t>(data.size(), kMaxTopicBytes))));
      m.fields.request_domain = topic;
      m.fields.request_resource = topic;
    } else if (name == "PING") {
      // RFC 37 §5.5: TTL (2 octets) and a context of at most 16 octets.
      if (data.size() < 2 || data.size() > 18) malformed("malformed PING");
    } else if (name == "PONG") {
      if (data.size() > 16) malformed("malformed PONG");
    } else if (name == "MESSAGE") {
      m.fields.request_length.reset();
      m.fields.response_length.reset();
      setLength(dir, m, data.size());
    }
    if (!was_settled && s.settled()) result.wake_peer = true;
    sink.onMessage(dir, std::move(m));
  }

  // RFC 27 §2.4: a ZAP status code is 3 digits, 4xx the client's fault
  // (authentication), 3xx and 5xx the server's; any other reason is classed
  // by who sent it, as DeepFlow does.
  static ResponseStatus errorStatus(Direction dir, std::string_view reason) {
    const bool code = reason.size() == 3 && std::all_of(reason.begin(), reason.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (code && reason[0] == '4') return ResponseStatus::kClientError;
    if (code && (reason[0] == '3' || reason[0] == '5')) return ResponseStatus::kServerError;
    return dir == Direction::kToServer ? ResponseStatus::kClientError : ResponseStatus::kServerError;
  }

  enum class Role : uint8_t { kNone, kRequester, kReplier, kSubscriber };

  // RFC 28 (REQ/REP), 29 (PUB/SUB): REQ↔REP, REQ↔ROUTER, DEALER↔REP carry
  // requests and replies; a SUB/XSUB (or a side whose peer is PUB/XPUB)
  // sends subscriptions. One side's type is enough where it decides.
  Role role(Direction dir) const {
    const SocketType mine = sides_[static_cast<int>(dir)].type;
    const SocketType peer = sides_[1 - static_cast<int>(dir)].type;
    const bool requester = mine == SocketType::kReq || peer == SocketType::kRep;
    const bool replier = mine == SocketType::kRep || peer == SocketType::kReq;
    if (requester != replier) return requester ? Role::kRequester : Role::kReplier;
    if (requester) return Role::kNone;  // REQ↔REQ or REP↔REP: no such pair
    if (mine == SocketType::kSub || mine == SocketType::kXSub || peer == SocketType::kPub || peer == SocketType::kXPub) {
      return Role::kSubscriber;
    }
    return Role::kNone;
  }

  Step dataFrame(Direction dir, const FrameHeader& h, Bytes rest, uint64_t at, MessageSink& sink, FeedResult& result) {
    const int d = static_cast<int>(dir);
    Side& s = sides_[d];
    Step step;
    // Traffic from a side whose greeting was not seen (a capture joined
    // after it): its READY, if any, was before the capture too.
    if (!s.greeted && !s.settled()) markLost(s, result);
    if (!s.open && waitsForPeer(dir, rest.size())) return step;
    const uint64_t total = h.total();
    const bool first = !s.open;
    const bool curve = first && (s.mechanism == Mechanism::kCurve || s.mechanism == Mechanism::kUnknown) &&
                       h.size >= kCurveMessage.size();
    // A subscription's first bytes are read even from a frame passed over,
    // and so is the name of what may be a CURVE MESSAGE.
    uint64_t wanted_prefix = h.header_bytes;
    if (first && role(dir) == Role::kSubscriber) wanted_prefix += std::min<uint64_t>(h.size, 1 + kMaxTopicBytes);
    if (curve) wanted_prefix = std::max<uint64_t>(wanted_prefix, h.header_bytes + kCurveMessage.size());
    // Never more held than the buffering cap allows, however small it is set.
    wanted_prefix = std::min<uint64_t>(wanted_prefix, limits_.max_buffered_bytes);
    const uint64_t whole = std::min<uint64_t>(kWholeFrameBytes, limits_.max_buffered_bytes);
    if (total > rest.size()) {
      if (total <= whole || total <= wanted_prefix) {
        step.needed = static_cast<uint32_t>(total);
        return step;
      }
      if (rest.size() < wanted_prefix) {
        step.needed = static_cast<uint32_t>(wanted_prefix);
        return step;
      }
      step.consumed = rest.size();
      step.skip = total - rest.size();
    } else {
      step.consumed = static_cast<size_t>(total);
    }
    s.seen_any = true;
    if (curve && rest.size() >= h.header_bytes + kCurveMessage.size() &&
        asText(rest.subspan(h.header_bytes, kCurveMessage.size())) == kCurveMessage) {
      // One record per MESSAGE: whether it continues a multipart message
      // is inside the box.
      Message m = base(MessageKind::kOneWay, at, total, "Command MESSAGE");
      setLength(dir, m, h.size - kCurveMessage.size());
      sink.onMessage(dir, std::move(m));
      return step;
    }
    if (first) {
      s.open = true;
      s.discarding = false;
      s.msg_pos = at;
      s.msg_wire = 0;
      s.msg_body = 0;
      s.parts = 0;
      s.first_byte = -1;
      s.topic.clear();
      const Bytes body = rest.subspan(h.header_bytes, std::min<size_t>(rest.size() - h.header_bytes, h.size));
      if (!body.empty()) {
        s.first_byte = body[0];
        s.topic.assign(asText(body.subspan(1, std::min<size_t>(body.size() - 1, kMaxTopicBytes))));
      }
    }
    s.msg_wire += total;
    s.msg_body += h.size;
    ++s.parts;
    if (s.parts > kMaxParts && !s.discarding) {
      failure(dir, sink, s.msg_pos, s.msg_wire, "Message", "message of more parts than the cap");
      s.discarding = true;
    }
    if (!h.more()) {
      if (!s.discarding) emitMessage(dir, sink);
      s.open = false;
      s.discarding = false;
    }
    return step;
  }

  void emitMessage(Direction dir, MessageSink& sink) {
    const Side& s = sides_[static_cast<int>(dir)];
    const Role r = role(dir);
    const MessageKind kind = r == Role::kRequester ? MessageKind::kRequest
                             : r == Role::kReplier ? MessageKind::kResponse
                                                   : MessageKind::kOneWay;
    Message m = base(kind, s.msg_pos, s.msg_wire, "Message");
    if (kind != MessageKind::kOneWay) m.key.lane = kLaneRequestReply;
    // RFC 29 §3 (ZMTP 3.0 subscriptions): one frame, 1 then the topic to
    // subscribe, 0 then the topic to cancel.
    if (r == Role::kSubscriber && s.parts == 1 && (s.first_byte == 0 || s.first_byte == 1)) {
      m.fields.request_type = s.first_byte == 1 ? "Message SUBSCRIBE" : "Message CANCEL";
      m.fields.request_domain = s.topic;
      m.fields.request_resource = s.topic;
    }
    setLength(dir, m, s.msg_body);
    sink.onMessage(dir, std::move(m));
  }

  void closeOpen(Direction dir, MessageSink& sink, std::string_view why) {
    Side& s = sides_[static_cast<int>(dir)];
    if (!s.open) return;
    s.open = false;
    if (s.discarding) return;
    Message m = base(MessageKind::kOneWay, s.msg_pos, s.msg_wire, "Message");
    setLength(dir, m, s.msg_body);
    m.fields.response_status = ResponseStatus::kParseFailed;
    m.fields.response_exception = std::string(why);
    sink.onMessage(dir, std::move(m));
  }

  DecoderLimits limits_;
  Resync resync_[2];
  Side sides_[2];
  bool flushing_[2] = {false, false};  // decodeToEnd under way: nothing waits any more
};

std::unique_ptr<Decoder> createZmtp(const DecoderLimits& limits) { return std::make_unique<ZmtpDecoder>(limits); }

// ZeroMQ has no registered port; 5555 is the one its guide and most
// examples use (the port rule only, when no SYN names the client).
constexpr uint16_t kZmtpPorts[] = {5555};
constexpr std::string_view kZmtpVersions[] = {"3.0", "3.1"};

}  // namespace

ProbeVerdict probeZmtp(Bytes first_bytes) noexcept {
  // RFC 23 §4.1: the signature is 0xFF, 8 octets of padding, 0x7F.
  if (first_bytes.empty()) return ProbeVerdict::kNeedMore;
  if (first_bytes[0] != 0xFF) return ProbeVerdict::kNo;
  if (first_bytes.size() < kSignatureBytes) return ProbeVerdict::kNeedMore;
  return first_bytes[9] == 0x7F ? ProbeVerdict::kEitherSide : ProbeVerdict::kNo;
}

const DecoderInfo& zmtpDecoderInfo() {
  static const DecoderInfo info{L7Protocol::kZmtp, "ZMTP", "zmtp", kZmtpPorts, probeZmtp, createZmtp, kZmtpVersions};
  return info;
}

}  // namespace l7::zmtp
