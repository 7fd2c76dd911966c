// The one decoder interface every protocol implements.
//
// Shape: frame-then-parse, engine-buffered (Suricata-like). One Decoder
// instance serves one TCP connection and sees both directions. The session
// layer (harness/session) owns the byte buffers; the decoder owns only the
// protocol state it needs to decode (e.g. Kafka's correlation_id → api map).
//
// ## The consume / need-more contract of feed()
//
//   FeedResult r = decoder.feed(dir, tail, sink);
//
// `tail` is every byte of direction `dir` that earlier calls did not consume,
// contiguous, starting at a stream position the decoder has not yet seen
// consumed. The decoder decodes as many whole messages from the front as it
// can, emits one Message per message to `sink`, and returns:
//   - consumed: bytes the session drops from the front. Always <= tail.size().
//   - needed:   0, or the minimum size the unconsumed tail must reach before
//               feed() can make progress (then needed > tail.size()-consumed).
//               The session does not call feed() again for `dir` until the
//               tail is that long (or more data arrives, when needed is 0).
//               A decoder never asks for more than limits.max_buffered_bytes.
//   - skip:     bytes that follow the consumed ones, not all given yet, that
//               the session must drop unseen as they arrive. This is how an
//               oversized frame is passed over without buffering it: decode
//               what the prefix holds, consume the prefix, skip the rest.
//   - waits_for_peer: the unconsumed bytes cannot be decoded rightly before
//               the decoder has looked at the other direction's held bytes
//               again (e.g. responses, while the requests they answer may be
//               held undecided in a resynchronization). The session feeds
//               the other direction's tail at once, even if shorter than it
//               asked for, and then this tail again. Asked again within that
//               round, the session keeps the tail until more data comes (as
//               with needed 0), so a decoder asks once per round.
// Malformed but framed content becomes a Message with response_status 6 and
// the frame is consumed. Lost framing (junk where a frame header should be)
// puts the decoder into resync for that direction: it consumes bytes until a
// plausible frame start, emitting one status-6 message per junk run.
//
// feed() never throws, never reads outside `tail`, and keeps no pointer into
// it after returning. Message string fields are owned copies.
//
// ## Gaps, mid-stream starts and end of stream
// onGap(dir): bytes of `dir` were lost (a capture gap, or the capture joined
// the connection mid-stream: the session calls onGap for both directions
// before the first byte). The session has already dropped the unconsumed tail
// of `dir`. The decoder must resynchronize on the next bytes.
// beforeGap(dir, tail, sink): called first when the tail is not empty, so a
// decoder that held whole messages waiting for what follows them (a
// resynchronization's candidate waiting for its confirmation) can decode
// them as if the stream ended there. Default: nothing.
// onEof(dir, tail, sink): no more bytes will come for `dir`; `tail` is what
// was never consumed: a truncated message, or whole ones a decoder kept
// undecided (a resynchronization's candidate, a tail that asked for its
// peer). The decoder decodes what it can and may emit a status-6 message
// for the rest.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "l7/byte_reader.h"
#include "l7/record.h"

namespace l7 {

enum class Direction : uint8_t { kToServer = 0, kToClient = 1 };

inline Direction reverse(Direction d) noexcept {
  return d == Direction::kToServer ? Direction::kToClient : Direction::kToServer;
}

// How a message takes part in request/response pairing (harness/session).
enum class MessageKind : uint8_t {
  kRequest,   // waits for a response with the same PairKey
  kResponse,  // completes the oldest pending request with the same PairKey
  kOneWay,    // a complete record (type 2) on its own
};

// Requests and responses pair when their keys are equal. `lane` separates
// independent pairing spaces on one connection (e.g. MQTT packet ids chosen
// by the client vs by the broker, or "by order" vs "by id" messages); `id` is
// the protocol's identifier (0 for by-order pairing). Several requests with
// one key queue up in order (FIFO), so "by order" is simply a constant key.
struct PairKey {
  uint32_t lane = 0;
  uint64_t id = 0;
  bool operator==(const PairKey&) const = default;
};

struct Message {
  MessageKind kind = MessageKind::kOneWay;
  PairKey key;
  // Offset of the message's first byte within the span given to feed() or
  // onEof(); the session turns it into a timestamp and a TCP sequence number.
  uint32_t offset = 0;
  // Bytes the message occupies on the wire (captured_*_byte).
  uint32_t wire_size = 0;
  L7Fields fields;
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void onMessage(Direction dir, Message&& msg) = 0;
};

// Caps on everything the wire can inflate. Defaults are generous for real
// traffic and small enough that a hostile stream cannot exhaust memory.
struct DecoderLimits {
  uint64_t max_message_bytes = 100ull << 20;  // largest declared frame accepted as valid
  uint32_t max_buffered_bytes = 4u << 20;     // largest frame prefix held for decoding
  uint32_t max_line_bytes = 64u << 10;        // text protocols: longest control line
  uint32_t max_array_count = 100000;          // any wire-declared element count
  uint32_t max_pending = 1024;                // decoder-side per-connection state entries
};

struct FeedResult {
  uint32_t consumed = 0;
  uint32_t needed = 0;
  uint64_t skip = 0;
  bool waits_for_peer = false;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual FeedResult feed(Direction dir, Bytes tail, MessageSink& sink) noexcept = 0;
  virtual void onGap(Direction dir) noexcept = 0;
  virtual void beforeGap(Direction, Bytes, MessageSink&) noexcept {}
  virtual void onEof(Direction dir, Bytes tail, MessageSink& sink) noexcept = 0;
};

// What a probe says about the first bytes seen in one direction of a
// connection whose protocol is not yet known. Probes are stateless and
// cheap; they must not accept bytes that merely could be the protocol.
enum class ProbeVerdict : uint8_t {
  kNo,          // not this protocol
  kNeedMore,    // too few bytes to tell
  kFromClient,  // this protocol, and the sender is the client
  kFromServer,  // this protocol, and the sender is the server
};

struct DecoderInfo {
  L7Protocol protocol;
  std::string_view name;  // l7_protocol_str, e.g. "Kafka"
  std::string_view key;   // folder / CLI name, e.g. "kafka"
  std::span<const uint16_t> default_ports;
  ProbeVerdict (*probe)(Bytes first_bytes) noexcept;
  std::unique_ptr<Decoder> (*create)(const DecoderLimits& limits);
  // The protocol versions this decoder claims to decode fully, in the
  // protocol's own notation (`l7conform versions` prints them against the
  // synthesizer's coverage and the corpus). Empty: not stated.
  std::span<const std::string_view> versions = {};
};

}  // namespace l7
