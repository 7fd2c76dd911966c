// Feeds one connection's messages through the production connection path
// (l7h::Connection: decoder, tail buffering, pairing, record building) in
// pieces of at most `piece` bytes, as the benchmarks of every decoder do.
#pragma once

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "session/connection.h"

namespace l7bench {

// One direction's bytes, in the order they reach the connection.
using WireMessage = std::pair<l7::Direction, std::string_view>;

// Returns the number of records the connection produced.
inline size_t driveConnection(const l7::DecoderInfo* decoder, const std::vector<WireMessage>& messages, size_t piece,
                              bool joined_mid_stream = false) {
  static const l7h::ReplayOptions options;
  size_t records = 0;
  l7h::OrderedOutput output([&](const l7::Record&) { ++records; });
  uint64_t seen = 0;
  l7h::ConnectionCounters counters;
  l7h::FlowColumns flow;
  flow.flow_id = 1;
  flow.decoder = decoder;
  l7h::Connection conn(flow, options, l7h::ConnectionOutput{&output, &seen, &counters});
  if (joined_mid_stream) {
    conn.gap(l7::Direction::kToServer, 0);
    conn.gap(l7::Direction::kToClient, 0);
  }
  uint64_t offset[2] = {0, 0};
  int64_t ts = 1;
  for (const auto& [dir, wire] : messages) {
    const int d = static_cast<int>(dir);
    for (size_t pos = 0; pos < wire.size(); pos += piece) {
      const size_t n = std::min(piece, wire.size() - pos);
      conn.data(dir, offset[d], static_cast<uint32_t>(offset[d]), ts++, l7::asBytes(wire.substr(pos, n)));
      offset[d] += n;
    }
  }
  conn.close();
  output.releaseAll();
  return records;
}

}  // namespace l7bench
