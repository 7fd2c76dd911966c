// What the capture + TCP reassembly layer tells the session layer.
//
// The reassembler turns packets into per-connection, per-side ordered byte
// streams. It does not know protocols, so it names the two sides of a
// connection 0 and 1: side 0 is the SYN sender when the handshake was seen,
// otherwise the sender of the first packet. The session layer decides which
// side is the client (handshake, then protocol probe, then well-known port).
//
// Ordering guarantees, per connection: onOpen first; then onData/onGap in
// stream order per side (never overlapping, never repeating a byte);
// onSideClosed at most once per side; onClose last, exactly once (FIN/RST
// seen on both sides, idle eviction, table-full eviction, or end of input).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace l7h {

using ConnId = uint64_t;  // = flow_id: 1, 2, ... by first packet of the input

struct IpAddress {
  bool v4 = true;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4
  bool operator==(const IpAddress&) const = default;
  auto operator<=>(const IpAddress&) const = default;
  std::string toString() const;  // dotted quad or RFC 5952 text
};

struct Endpoint {
  IpAddress ip;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
  auto operator<=>(const Endpoint&) const = default;
};

struct ConnectionInfo {
  ConnId id = 0;
  Endpoint side[2];             // side[0] see above
  bool handshake_seen = false;  // side 0 sent the SYN: it is the client
  int64_t first_ts_us = 0;
};

struct DataChunk {
  int side = 0;               // 0 or 1
  uint64_t stream_offset = 0; // offset of data[0] from the first byte of this side's stream
  uint32_t tcp_seq = 0;       // TCP sequence number of data[0]
  int64_t ts_us = 0;          // timestamp of the packet that carried data[0]
  std::span<const uint8_t> data;
};

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void onOpen(const ConnectionInfo& info) = 0;
  virtual void onData(ConnId id, const DataChunk& chunk) = 0;
  // `missing` bytes of `side` were never captured; the next onData for that
  // side starts at stream_offset + missing. `missing` may be 0 when the
  // amount is unknown (e.g. a snap-length cut of unknown size).
  virtual void onGap(ConnId id, int side, uint64_t missing, int64_t ts_us) = 0;
  virtual void onSideClosed(ConnId id, int side, int64_t ts_us) = 0;  // FIN or RST
  virtual void onClose(ConnId id, int64_t ts_us) = 0;
  // The capture clock advanced (every packet, connection or not): the
  // session layer uses it for session timeouts.
  virtual void onClock(int64_t ts_us) = 0;
};

}  // namespace l7h
