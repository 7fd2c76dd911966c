// Link layer → IPv4/IPv6 (with fragment reassembly) → TCP header.
//
// Every length is checked against what was captured; a hostile packet is
// counted as malformed, never read past its end. IP fragments are held
// (bounded: datagrams in flight, bytes per datagram, age on the capture
// clock) until the datagram is whole; overlapping fragments keep the first
// copy.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "capture/memory_budget.h"
#include "capture/pcap_input.h"
#include "capture/stream_events.h"

namespace l7h {

struct TcpSegment {
  IpAddress src, dst;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  std::span<const uint8_t> payload;  // what was captured
  uint32_t payload_missing = 0;      // bytes of payload cut off by the snap length
  int64_t ts_us = 0;
};

namespace tcpflag {
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

enum class DecodeOutcome { kTcp, kNotTcp, kMalformed, kFragmentHeld };

struct LayerCounters {
  uint64_t non_tcp = 0, malformed = 0, truncated = 0, fragments = 0, reassembled = 0, fragments_dropped = 0;
};

class PacketLayers {
 public:
  // `budget` (may be null): held fragments count against it.
  explicit PacketLayers(LayerCounters& counters, MemoryBudget* budget = nullptr)
      : counters_(counters), budget_(budget) {}
  PacketLayers(const PacketLayers&) = delete;
  PacketLayers& operator=(const PacketLayers&) = delete;
  ~PacketLayers();
  // The segment's payload may point into `packet` or into a reassembled
  // datagram owned by this object: valid until the next call.
  DecodeOutcome decode(const RawPacket& packet, TcpSegment& out);

 private:
  struct FragmentKey {
    IpAddress src, dst;
    uint32_t id;
    uint8_t proto;
    bool v6;
    auto operator<=>(const FragmentKey&) const = default;
  };
  struct Datagram {
    std::vector<uint8_t> header;           // the first fragment's IP header (for the result)
    std::map<uint32_t, std::vector<uint8_t>> pieces;  // offset → bytes (first copy wins)
    // The bytes the pieces cover, as disjoint, non-touching runs (start →
    // end), kept up to date as pieces arrive: whether the datagram is whole
    // is one look at the first run, so a duplicate costs a lookup, not a
    // walk over every held piece.
    std::map<uint32_t, uint32_t> covered;
    uint32_t total = 0;                    // known once the last fragment arrived
    size_t bytes = 0;
    int64_t first_ts_us = 0;
    uint64_t accounted = 0;  // what it counts against the budget
  };

  DecodeOutcome decodeIp(std::span<const uint8_t> ip, uint32_t wire_missing, int64_t ts, TcpSegment& out);
  DecodeOutcome decodeIpv4(std::span<const uint8_t> ip, uint32_t wire_missing, int64_t ts, TcpSegment& out);
  DecodeOutcome decodeIpv6(std::span<const uint8_t> ip, uint32_t wire_missing, int64_t ts, TcpSegment& out);
  DecodeOutcome decodeTcp(std::span<const uint8_t> tcp, uint32_t wire_missing, TcpSegment& out);
  // Adds a fragment; returns true and fills `whole` (payload of the upper
  // layer) when the datagram is complete.
  bool addFragment(const FragmentKey& key, uint32_t offset, bool more, std::span<const uint8_t> data, int64_t ts,
                   std::vector<uint8_t>& whole);
  void expireFragments(int64_t now_us);
  // Moves a datagram's account in the budget to its current footprint.
  void account(Datagram& d);
  std::map<FragmentKey, Datagram>::iterator dropDatagram(std::map<FragmentKey, Datagram>::iterator it);

  LayerCounters& counters_;
  MemoryBudget* budget_;
  std::map<FragmentKey, Datagram> fragments_;
  std::vector<uint8_t> reassembled_;
  int64_t last_fragment_sweep_us_ = 0;
};

}  // namespace l7h
