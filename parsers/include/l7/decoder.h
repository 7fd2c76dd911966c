// The decoder contract (v2). One Decoder serves one TCP connection and sees
// both directions; the session (harness/session) owns the bytes, the
// pairing store and time, the decoder only its protocol's grammar and state.
//
// feed(dir, tail, pos, sink): `tail` is every unconsumed byte of `dir`,
// tail[0] at absolute stream position `pos`. The decoder emits one Message
// per whole message and returns FeedResult:
//   consumed    bytes the session drops from the front (<= tail.size()).
//   needed      0, or the tail size to wait for before feeding again
//               (never above limits.max_buffered_bytes).
//   skip        bytes after the consumed ones to drop unseen as they come:
//               an oversized frame is decoded from its prefix, not buffered.
//   holds_from  stream position of the first byte of the oldest message this
//               direction still holds open (a body spread over frames, with
//               other frames between); kHoldsNothing otherwise. The session
//               keeps that position placeable and holds output ordering there.
//   wake_peer   this feed learned state the other direction's held bytes
//               were waiting for (a WireFormatInfo, a READY, a request a
//               response needs): the session feeds the peer's tail at once.
// Messages are placed by absolute position (Message::pos, its first byte)
// and sized by wire_size (the sum of its frames). Malformed but framed input
// is a status-6 message; lost framing goes through l7/resync.h, the one
// resynchronization engine, never a protocol's own copy.
//
// onGap(dir, held, pos, sink): `dir` lost bytes after `held` (its unconsumed
// tail, at `pos`; empty when the capture joined mid-stream, which calls it
// for both directions before any byte). Decode what is whole in `held` and
// close open messages as at the end of the stream (they can still be placed
// now), then resynchronize on the next bytes. onEof(dir, tail, pos, sink):
// nothing more comes; decode what is whole, report the rest.
//
// Pairing is the session's: a request waits under its PairKey with its
// `context` (what decoding the answer needs, e.g. Kafka's API key and
// version); a decoder reads it back with sink.pendingContext(key) while it
// decodes a response. DecoderInfo::merge, when set, is the protocol's rule
// for merging a request and its response into one record.
//
// Never throws, never reads outside `tail`, keeps no pointer into it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "l7/byte_reader.h"
#include "l7/record.h"

namespace l7 {

enum class Direction : uint8_t { kToServer = 0, kToClient = 1 };

inline Direction reverse(Direction d) noexcept {
  return d == Direction::kToServer ? Direction::kToClient : Direction::kToServer;
}

enum class MessageKind : uint8_t {
  kRequest,   // waits for a response with the same PairKey
  kResponse,  // completes the oldest pending request with the same PairKey
  kOneWay,    // a complete record (type 2) on its own
};

// Requests and responses pair when their keys are equal; requests with one
// key queue in order (so "by order" is a constant key). `lane` separates
// pairing spaces (who initiated, which channel); `id` and `id2` are the
// protocol's identifiers (Pulsar's producer and sequence ids need both).
struct PairKey {
  uint32_t lane = 0;
  uint64_t id = 0;
  uint64_t id2 = 0;
  bool operator==(const PairKey&) const = default;
};

struct Message {
  MessageKind kind = MessageKind::kOneWay;
  PairKey key;
  uint64_t pos = 0;        // absolute stream position of its first byte
  uint32_t wire_size = 0;  // bytes of all its frames (captured_*_byte)
  uint64_t context = 0;    // a request's: kept for pendingContext()
  L7Fields fields;
};

// A per-connection work cap a decoder ran into: what it cost is that
// message's optional detail (e.g. trace ids), never the message itself.
enum class CapHit : uint8_t {
  kDecompressionBudget,  // compressed payload not inflated: the connection spent its budget
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void onMessage(Direction dir, Message&& msg) = 0;
  // The context of the request a response with `key` would complete now.
  virtual std::optional<uint64_t> pendingContext(const PairKey&) const { return std::nullopt; }
  // Counted by the session (replay counters); the default ignores it.
  virtual void onCapHit(CapHit) {}
};

// Caps on everything the wire can inflate.
struct DecoderLimits {
  uint64_t max_message_bytes = 100ull << 20;  // largest declared frame accepted as valid
  uint32_t max_buffered_bytes = 4u << 20;     // largest frame prefix held for decoding
  uint32_t max_line_bytes = 64u << 10;        // text protocols: longest control line
  uint32_t max_array_count = 100000;          // any wire-declared element count
  uint32_t max_pending = 1024;                // decoder-side per-connection state entries
};

inline constexpr uint64_t kHoldsNothing = UINT64_MAX;

struct FeedResult {
  uint32_t consumed = 0;
  uint32_t needed = 0;
  uint64_t skip = 0;
  uint64_t holds_from = kHoldsNothing;
  bool wake_peer = false;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual FeedResult feed(Direction dir, Bytes tail, uint64_t pos, MessageSink& sink) noexcept = 0;
  virtual void onGap(Direction dir, Bytes held, uint64_t pos, MessageSink& sink) noexcept = 0;
  virtual void onEof(Direction dir, Bytes tail, uint64_t pos, MessageSink& sink) noexcept = 0;
};

// A probe's word on the first bytes of one direction of an unrecognized
// connection. Stateless and cheap; it must not accept what merely could be.
enum class ProbeVerdict : uint8_t {
  kNo,          // not this protocol
  kNeedMore,    // too few bytes to tell
  kFromClient,  // this protocol, and the sender is the client
  kFromServer,  // this protocol, and the sender is the server
  kEitherSide,  // this protocol, but both sides open alike (ZMTP, OpenWire):
                // the session picks the client (SYN, port, first speaker)
};

struct DecoderInfo {
  L7Protocol protocol;
  std::string_view name;  // l7_protocol_str, e.g. "Kafka"
  std::string_view key;   // folder / CLI name, e.g. "kafka"
  std::span<const uint16_t> default_ports;
  ProbeVerdict (*probe)(Bytes first_bytes) noexcept;
  std::unique_ptr<Decoder> (*create)(const DecoderLimits& limits);
  // Versions decoded fully, in the protocol's notation (`l7conform versions`).
  std::span<const std::string_view> versions = {};
  // The protocol's merge of a response into its request; null: l7::mergeResponse.
  void (*merge)(Record& request, Record&& response) = nullptr;
};

}  // namespace l7
