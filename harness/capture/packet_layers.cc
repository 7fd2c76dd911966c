#include "capture/packet_layers.h"

#include <pcap/dlt.h>

#include <algorithm>

#include "l7/byte_reader.h"

namespace l7h {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr size_t kMaxDatagramsInFlight = 1024;
constexpr uint32_t kMaxDatagramBytes = 65535;
constexpr int64_t kFragmentTimeoutUs = 30'000'000;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

// BSD loopback address families differ by OS (and byte order by the
// capturing host): accept every value any of them uses.
int familyToEthertype(uint32_t family) {
  if (family == 2) return kEtherIpv4;
  if (family == 10 || family == 24 || family == 28 || family == 30) return kEtherIpv6;
  return -1;
}

// Adds [start, end) to `runs` (disjoint, non-touching start → end), merging
// the runs it overlaps or touches. Each run is merged away at most once, so
// a datagram's pieces cost O(log n) each, whatever order they come in.
void cover(std::map<uint32_t, uint32_t>& runs, uint32_t start, uint32_t end) {
  if (start >= end) return;
  auto it = runs.upper_bound(start);
  if (it != runs.begin()) {
    auto before = std::prev(it);
    if (before->second >= start) {  // overlaps or touches the run before
      start = before->first;
      end = std::max(end, before->second);
      it = runs.erase(before);
    }
  }
  while (it != runs.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = runs.erase(it);
  }
  runs.emplace(start, end);
}

}  // namespace

DecodeOutcome PacketLayers::decode(const RawPacket& packet, TcpSegment& out) {
  out.ts_us = packet.ts_us;
  std::span<const uint8_t> frame(packet.data, packet.caplen);
  const uint32_t wire_missing = packet.wirelen > packet.caplen ? packet.wirelen - packet.caplen : 0;
  if (packet.ts_us - last_fragment_sweep_us_ > 1'000'000) expireFragments(packet.ts_us);

  int ethertype = -1;
  size_t offset = 0;
  switch (packet.linktype) {
    case DLT_EN10MB: {
      if (frame.size() < 14) return counters_.malformed++, DecodeOutcome::kMalformed;
      offset = 12;
      uint16_t type = be16(&frame[offset]);
      // 802.1Q, 802.1ad and the old QinQ tag: at most a few nested tags.
      for (int tags = 0; (type == 0x8100 || type == 0x88A8 || type == 0x9100) && tags < 4; ++tags) {
        offset += 4;
        if (frame.size() < offset + 2) return counters_.malformed++, DecodeOutcome::kMalformed;
        type = be16(&frame[offset]);
      }
      offset += 2;
      ethertype = type;
      break;
    }
    case DLT_LINUX_SLL:
      if (frame.size() < 16) return counters_.malformed++, DecodeOutcome::kMalformed;
      ethertype = be16(&frame[14]);
      offset = 16;
      break;
    case DLT_LINUX_SLL2:
      if (frame.size() < 20) return counters_.malformed++, DecodeOutcome::kMalformed;
      ethertype = be16(&frame[0]);
      offset = 20;
      break;
    case DLT_NULL:
    case DLT_LOOP: {
      if (frame.size() < 4) return counters_.malformed++, DecodeOutcome::kMalformed;
      const uint32_t big = be32(&frame[0]);
      const uint32_t little = frame[0] | (frame[1] << 8) | (frame[2] << 16) | (static_cast<uint32_t>(frame[3]) << 24);
      ethertype = familyToEthertype(packet.linktype == DLT_LOOP ? big : little);
      if (ethertype < 0) ethertype = familyToEthertype(packet.linktype == DLT_LOOP ? little : big);
      offset = 4;
      break;
    }
    default: {  // raw IP: the version nibble says which
      if (frame.empty()) return counters_.malformed++, DecodeOutcome::kMalformed;
      const int version = frame[0] >> 4;
      ethertype = version == 4 ? kEtherIpv4 : version == 6 ? kEtherIpv6 : -1;
      offset = 0;
      break;
    }
  }
  if (ethertype != kEtherIpv4 && ethertype != kEtherIpv6) return counters_.non_tcp++, DecodeOutcome::kNotTcp;
  return decodeIp(frame.subspan(offset), wire_missing, packet.ts_us, out);
}

DecodeOutcome PacketLayers::decodeIp(std::span<const uint8_t> ip, uint32_t wire_missing, int64_t ts, TcpSegment& out) {
  if (ip.empty()) return counters_.malformed++, DecodeOutcome::kMalformed;
  const int version = ip[0] >> 4;
  if (version == 4) return decodeIpv4(ip, wire_missing, ts, out);
  if (version == 6) return decodeIpv6(ip, wire_missing, ts, out);
  return counters_.malformed++, DecodeOutcome::kMalformed;
}

DecodeOutcome PacketLayers::decodeIpv4(std::span<const uint8_t> ip, uint32_t wire_missing, int64_t ts,
                                       TcpSegment& out) {
  if (ip.size() < 20) return counters_.malformed++, DecodeOutcome::kMalformed;
  const size_t header_len = static_cast<size_t>(ip[0] & 0x0F) * 4;
  const size_t total_len = be16(&ip[2]);
  if (header_len < 20 || header_len > ip.size() || total_len < header_len)
    return counters_.malformed++, DecodeOutcome::kMalformed;
  uint32_t cut = 0;
  if (total_len > ip.size()) {
    // Shorter than it claims: legitimate only when the snap length cut it.
    cut = static_cast<uint32_t>(total_len - ip.size());
    if (cut > wire_missing) return counters_.malformed++, DecodeOutcome::kMalformed;
    ++counters_.truncated;
  } else {
    ip = ip.first(total_len);  // drop link-layer padding
  }
  out.src = IpAddress{};
  out.dst = IpAddress{};
  out.src.v4 = out.dst.v4 = true;
  std::copy_n(&ip[12], 4, out.src.bytes.begin());
  std::copy_n(&ip[16], 4, out.dst.bytes.begin());
  const uint8_t proto = ip[9];
  const uint16_t frag = be16(&ip[6]);
  const bool more = (frag & 0x2000) != 0;
  const uint32_t frag_offset = static_cast<uint32_t>(frag & 0x1FFF) * 8;
  if (proto != 6) return counters_.non_tcp++, DecodeOutcome::kNotTcp;
  std::span<const uint8_t> body = ip.subspan(header_len);
  if (more || frag_offset != 0) {
    ++counters_.fragments;
    if (cut != 0) return counters_.malformed++, DecodeOutcome::kMalformed;  // cannot reassemble a cut fragment
    FragmentKey key{out.src, out.dst, be16(&ip[4]), proto, false};
    if (!addFragment(key, frag_offset, more, body, ts, reassembled_)) return DecodeOutcome::kFragmentHeld;
    ++counters_.reassembled;
    return decodeTcp(reassembled_, 0, out);
  }
  return decodeTcp(body, cut, out);
}

DecodeOutcome PacketLayers::decodeIpv6(std::span<const uint8_t> ip, uint32_t wire_missing, int64_t ts,
                                       TcpSegment& out) {
  if (ip.size() < 40) return counters_.malformed++, DecodeOutcome::kMalformed;
  const size_t payload_len = be16(&ip[4]);
  if (payload_len == 0) return counters_.malformed++, DecodeOutcome::kMalformed;  // jumbograms: not supported
  uint32_t cut = 0;
  if (40 + payload_len > ip.size()) {
    cut = static_cast<uint32_t>(40 + payload_len - ip.size());
    if (cut > wire_missing) return counters_.malformed++, DecodeOutcome::kMalformed;
    ++counters_.truncated;
  } else {
    ip = ip.first(40 + payload_len);
  }
  out.src = IpAddress{};
  out.dst = IpAddress{};
  out.src.v4 = out.dst.v4 = false;
  std::copy_n(&ip[8], 16, out.src.bytes.begin());
  std::copy_n(&ip[24], 16, out.dst.bytes.begin());
  uint8_t next = ip[6];
  std::span<const uint8_t> rest = ip.subspan(40);
  // Walk the extension headers up to TCP; a bounded number of them.
  for (int hops = 0; hops < 16; ++hops) {
    switch (next) {
      case 6:
        return decodeTcp(rest, cut, out);
      case 0:    // hop-by-hop options
      case 43:   // routing
      case 60: { // destination options
        if (rest.size() < 8) return counters_.malformed++, DecodeOutcome::kMalformed;
        const size_t len = (static_cast<size_t>(rest[1]) + 1) * 8;
        if (len > rest.size()) return counters_.malformed++, DecodeOutcome::kMalformed;
        next = rest[0];
        rest = rest.subspan(len);
        break;
      }
      case 51: {  // authentication header
        if (rest.size() < 8) return counters_.malformed++, DecodeOutcome::kMalformed;
        const size_t len = (static_cast<size_t>(rest[1]) + 2) * 4;
        if (len > rest.size()) return counters_.malformed++, DecodeOutcome::kMalformed;
        next = rest[0];
        rest = rest.subspan(len);
        break;
      }
      case 44: {  // fragment
        if (rest.size() < 8) return counters_.malformed++, DecodeOutcome::kMalformed;
        ++counters_.fragments;
        if (cut != 0) return counters_.malformed++, DecodeOutcome::kMalformed;
        const uint8_t inner = rest[0];
        const uint16_t off_flags = be16(&rest[2]);
        const uint32_t offset = static_cast<uint32_t>(off_flags >> 3) * 8;
        const bool more = (off_flags & 1) != 0;
        FragmentKey key{out.src, out.dst, be32(&rest[4]), inner, true};
        if (!more && offset == 0) {  // an atomic fragment: nothing to reassemble
          next = inner;
          rest = rest.subspan(8);
          break;
        }
        if (!addFragment(key, offset, more, rest.subspan(8), ts, reassembled_)) return DecodeOutcome::kFragmentHeld;
        ++counters_.reassembled;
        next = inner;
        rest = reassembled_;
        break;
      }
      default:
        return counters_.non_tcp++, DecodeOutcome::kNotTcp;
    }
  }
  return counters_.malformed++, DecodeOutcome::kMalformed;
}

DecodeOutcome PacketLayers::decodeTcp(std::span<const uint8_t> tcp, uint32_t cut, TcpSegment& out) {
  if (tcp.size() < 20) {
    if (cut != 0) return DecodeOutcome::kMalformed;  // header itself cut off: counted as truncated already
    return counters_.malformed++, DecodeOutcome::kMalformed;
  }
  const size_t data_offset = static_cast<size_t>(tcp[12] >> 4) * 4;
  if (data_offset < 20 || data_offset > tcp.size()) {
    if (cut != 0) return DecodeOutcome::kMalformed;
    return counters_.malformed++, DecodeOutcome::kMalformed;
  }
  out.sport = be16(&tcp[0]);
  out.dport = be16(&tcp[2]);
  out.seq = be32(&tcp[4]);
  out.ack = be32(&tcp[8]);
  out.flags = tcp[13];
  out.payload = tcp.subspan(data_offset);
  out.payload_missing = cut;
  return DecodeOutcome::kTcp;
}

PacketLayers::~PacketLayers() {
  for (auto it = fragments_.begin(); it != fragments_.end();) it = dropDatagram(it);
}

void PacketLayers::account(Datagram& d) {
  if (budget_ == nullptr) return;
  // Payload plus the map nodes and vector headers around each piece and the
  // datagram's own entry: a flood of tiny fragments costs what it holds.
  constexpr uint64_t kPerPiece = 128, kPerDatagram = 256;
  budget_->set(MemoryHolder::kIpFragments, d.accounted,
               kPerDatagram + d.header.size() + d.bytes + kPerPiece * d.pieces.size());
}

std::map<PacketLayers::FragmentKey, PacketLayers::Datagram>::iterator PacketLayers::dropDatagram(
    std::map<FragmentKey, Datagram>::iterator it) {
  if (budget_ != nullptr) budget_->sub(MemoryHolder::kIpFragments, it->second.accounted);
  return fragments_.erase(it);
}

bool PacketLayers::addFragment(const FragmentKey& key, uint32_t offset, bool more, std::span<const uint8_t> data,
                               int64_t ts, std::vector<uint8_t>& whole) {
  auto it = fragments_.find(key);
  if (it == fragments_.end()) {
    if (fragments_.size() >= kMaxDatagramsInFlight) {
      ++counters_.fragments_dropped;
      return false;
    }
    it = fragments_.emplace(key, Datagram{}).first;
    it->second.first_ts_us = ts;
  }
  Datagram& d = it->second;
  const uint64_t end = static_cast<uint64_t>(offset) + data.size();
  if (end > kMaxDatagramBytes || d.bytes + data.size() > 2 * kMaxDatagramBytes || (!more && d.total != 0 && end != d.total)) {
    ++counters_.fragments_dropped;
    dropDatagram(it);
    return false;
  }
  if (!more) d.total = static_cast<uint32_t>(end);
  // First copy wins: a later fragment at an offset already held is ignored;
  // partial overlaps are resolved at assembly by filling each byte once, in
  // offset order.
  if (d.pieces.emplace(offset, std::vector<uint8_t>(data.begin(), data.end())).second) {
    d.bytes += data.size();
    cover(d.covered, offset, static_cast<uint32_t>(end));
    account(d);
  }
  // Complete when the pieces cover [0, total).
  if (d.total == 0 || d.covered.empty()) return false;
  const auto& [first_start, first_end] = *d.covered.begin();
  if (first_start != 0 || first_end < d.total) return false;
  whole.assign(d.total, 0);
  std::vector<bool> filled(d.total, false);
  for (const auto& [off, bytes] : d.pieces) {
    for (size_t i = 0; i < bytes.size() && off + i < d.total; ++i) {
      if (!filled[off + i]) {
        whole[off + i] = bytes[i];
        filled[off + i] = true;
      }
    }
  }
  dropDatagram(it);
  return true;
}

void PacketLayers::expireFragments(int64_t now_us) {
  last_fragment_sweep_us_ = now_us;
  for (auto it = fragments_.begin(); it != fragments_.end();) {
    if (now_us - it->second.first_ts_us > kFragmentTimeoutUs) {
      ++counters_.fragments_dropped;
      it = dropDatagram(it);
    } else {
      ++it;
    }
  }
}

}  // namespace l7h
