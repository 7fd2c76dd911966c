// Test support: drive a decoder through the production connection path
// (l7h::Connection: buffering, consume/need-more, pairing, record merge)
// with a scripted conversation, at any segmentation.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "capture/frame_builder.h"
#include "l7/decoder.h"
#include "l7/record_json.h"
#include "session/connection.h"
#include "session/replay.h"

namespace l7test {

struct Write {
  l7::Direction dir;
  std::string bytes;
  int64_t ts_us = 0;
};

enum class Split { kWhole, kOneByte, kRandom };

// Drives one connection of `decoder` (192.0.2.1:50000 -> 192.0.2.2 on its
// first default port) through the production path (l7h::Connection):
// `script(conn)` places data, gaps and ends where a test wants them (or
// `script(conn, counters)`, to look at the counters on the way); the
// connection is then closed and its records kept in output order.
struct ScriptedConnection {
  std::vector<l7::Record> records;
  l7h::ConnectionCounters counters;

  template <typename Script>
  ScriptedConnection(const l7::DecoderInfo& decoder, Script script, const l7h::ReplayOptions& options = {}) {
    l7h::OrderedOutput output([this](const l7::Record& r) { records.push_back(r); });
    uint64_t seen = 0;
    l7h::FlowColumns flow;
    flow.flow_id = 1;
    flow.client.ip.bytes = {192, 0, 2, 1};
    flow.client.port = 50000;
    flow.server.ip.bytes = {192, 0, 2, 2};
    flow.server.port = decoder.default_ports.empty() ? 9 : decoder.default_ports[0];
    flow.decoder = &decoder;
    {
      l7h::Connection conn(flow, options, l7h::ConnectionOutput{&output, &seen, &counters});
      if constexpr (std::is_invocable_v<Script, l7h::Connection&, const l7h::ConnectionCounters&>) {
        script(conn, counters);
      } else {
        script(conn);
      }
      conn.close();
    }
    output.releaseAll();
  }
};

// Replays `writes` in order; each write is cut per `split` (random pieces of
// 1..7 bytes from `seed`). Returns the records in output order.
inline std::vector<l7::Record> runConversation(const l7::DecoderInfo& decoder, const std::vector<Write>& writes,
                                               Split split = Split::kWhole, uint64_t seed = 1,
                                               const l7h::ReplayOptions& options = {}) {
  uint64_t state = seed;
  auto next = [&]() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  auto feed = [&](l7h::Connection& conn) {
    uint64_t offset[2] = {0, 0};
    for (const Write& w : writes) {
      const int d = static_cast<int>(w.dir);
      size_t pos = 0;
      while (pos < w.bytes.size()) {
        size_t n = w.bytes.size() - pos;
        if (split == Split::kOneByte) n = 1;
        if (split == Split::kRandom) n = std::min<size_t>(n, 1 + next() % 7);
        conn.data(w.dir, offset[d], static_cast<uint32_t>(1000 + offset[d]), w.ts_us,
                  l7::asBytes(std::string_view(w.bytes).substr(pos, n)));
        offset[d] += n;
        pos += n;
      }
    }
  };
  return ScriptedConnection(decoder, feed, options).records;
}


// One connection (10.0.0.1:40000 -> 10.0.0.2:`server_port`) as a capture in
// memory: each write one segment at its own time, behind a SYN exchange
// when `syn` (at the first write's time).
inline std::vector<uint8_t> captureOf(const std::vector<Write>& writes, uint16_t server_port, bool syn) {
  l7h::Endpoint client, server;
  client.ip.bytes = {10, 0, 0, 1};
  client.port = 40000;
  server.ip.bytes = {10, 0, 0, 2};
  server.port = server_port;
  uint32_t seq[2] = {100000, 700000};
  std::vector<l7h::CapturedFrame> frames;
  auto add = [&](l7::Direction dir, std::string_view payload, uint8_t flags, int64_t ts) {
    const int d = static_cast<int>(dir);
    const bool from_client = dir == l7::Direction::kToServer;
    l7h::TcpFrameSpec spec;
    spec.src = from_client ? client : server;
    spec.dst = from_client ? server : client;
    spec.seq = seq[d];
    spec.ack = seq[1 - d];
    spec.flags = flags;
    spec.payload = std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    frames.push_back({ts, l7h::buildTcpFrame(spec)});
    seq[d] += static_cast<uint32_t>(payload.size()) + ((flags & 0x02) ? 1 : 0);
  };
  if (syn) {
    const int64_t ts = writes.empty() ? 0 : writes.front().ts_us;
    add(l7::Direction::kToServer, "", 0x02, ts);
    add(l7::Direction::kToClient, "", 0x12, ts);
  }
  for (const Write& w : writes) add(w.dir, w.bytes, 0x18, w.ts_us);
  return l7h::pcapBytes(l7h::LinkType::kEthernet, frames);
}

// Replays TCP segments of one connection whose handshake the capture missed
// (captureOf, without SYN) through the whole pipeline: capture, reassembly,
// recognition by probe or port, decoding.
inline std::vector<l7::Record> replayMidStream(const std::vector<Write>& segments, uint16_t server_port,
                                               l7h::ReplayResult* result = nullptr) {
  std::vector<l7::Record> records;
  const l7h::ReplayOptions options;
  const l7h::ReplayResult r = l7h::replayCaptureBytes(captureOf(segments, server_port, false), options,
                                                      [&](const l7::Record& rec) { records.push_back(rec); });
  if (result != nullptr) *result = r;
  return records;
}

// `v` as `bytes` big-endian bytes, for building wire messages in tests.
inline std::string be(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

// The `nth` record whose request_type is `type`, or null.
inline const l7::Record* byType(const std::vector<l7::Record>& records, std::string_view type, size_t nth = 0) {
  for (const l7::Record& r : records) {
    if (r.f.request_type == type && nth-- == 0) return &r;
  }
  return nullptr;
}

// The record, or a test failure and an empty record (never a null dereference).
inline const l7::Record& get(const std::vector<l7::Record>& records, std::string_view type, size_t nth = 0) {
  static const l7::Record kMissing{};
  const l7::Record* r = byType(records, type, nth);
  if (r == nullptr) {
    ADD_FAILURE() << "no " << type << " record #" << nth;
    return kMissing;
  }
  return *r;
}

inline std::string toJsonLines(const std::vector<l7::Record>& records) {
  std::string out;
  for (const auto& r : records) l7::appendRecordJson(r, out);
  return out;
}

}  // namespace l7test
