// Feeds one connection's bytes through the production connection path
// (l7h::Connection: decoder, tail buffering, pairing, record building), as
// the benchmarks of every decoder do: only the connection's public calls
// (data, gap, endOfStream, close), so the same driving works whatever the
// decoder contract behind them.
#pragma once

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "session/connection.h"

namespace l7bench {

// One direction's bytes, in the order they reach the connection.
using WireMessage = std::pair<l7::Direction, std::string_view>;

// One connection between a client and a server on `server_port`, counting
// the records it writes.
class DrivenConnection {
 public:
  explicit DrivenConnection(const l7::DecoderInfo* decoder, uint16_t server_port = 0)
      : output_([this](const l7::Record&) { ++records_; }),
        conn_(flowOf(decoder, server_port), options(), l7h::ConnectionOutput{&output_, &seen_, &counters_}) {}

  // The capture starts in the middle of the connection: both directions
  // begin as after lost bytes.
  void joinMidStream() {
    conn_.gap(l7::Direction::kToServer, 0);
    conn_.gap(l7::Direction::kToClient, 0);
  }
  // `wire` in pieces of at most `piece` bytes, one call (one segment) each.
  void send(l7::Direction dir, std::string_view wire, size_t piece) {
    const int d = static_cast<int>(dir);
    for (size_t pos = 0; pos < wire.size(); pos += piece) {
      const size_t n = std::min(piece, wire.size() - pos);
      conn_.data(dir, offset_[d], static_cast<uint32_t>(offset_[d]), ts_++, l7::asBytes(wire.substr(pos, n)));
      offset_[d] += n;
    }
  }
  // `missing` bytes of `dir` lost (0: an unknown amount).
  void gap(l7::Direction dir, uint64_t missing) {
    conn_.gap(dir, missing);
    offset_[static_cast<int>(dir)] += missing;
  }
  void endOfStream(l7::Direction dir) { conn_.endOfStream(dir); }
  // Closes the connection and returns the number of records it produced.
  size_t close() {
    conn_.close();
    output_.releaseAll();
    return records_;
  }
  const l7h::ConnectionCounters& counters() const { return counters_; }

 private:
  static const l7h::ReplayOptions& options() {
    static const l7h::ReplayOptions o;
    return o;
  }
  static l7h::FlowColumns flowOf(const l7::DecoderInfo* decoder, uint16_t server_port) {
    l7h::FlowColumns flow;
    flow.flow_id = 1;
    flow.client.ip.bytes = {192, 0, 2, 1};
    flow.client.port = 50000;
    flow.server.ip.bytes = {192, 0, 2, 2};
    flow.server.port = server_port;
    flow.decoder = decoder;
    return flow;
  }

  size_t records_ = 0;
  l7h::OrderedOutput output_;
  uint64_t seen_ = 0;
  l7h::ConnectionCounters counters_;
  l7h::Connection conn_;
  uint64_t offset_[2] = {0, 0};
  int64_t ts_ = 1;
};

// Returns the number of records the connection produced.
inline size_t driveConnection(const l7::DecoderInfo* decoder, const std::vector<WireMessage>& messages, size_t piece,
                              bool joined_mid_stream = false) {
  DrivenConnection conn(decoder);
  if (joined_mid_stream) conn.joinMidStream();
  for (const auto& [dir, wire] : messages) conn.send(dir, wire, piece);
  return conn.close();
}

}  // namespace l7bench
