#include "synth/packetizer.h"

#include <algorithm>

namespace l7h::synth {
namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;

}  // namespace

const char* segmentationName(Segmentation s) {
  switch (s) {
    case Segmentation::kWhole: return "whole";
    case Segmentation::kCoalesced: return "coalesced";
    case Segmentation::kRandom: return "random";
    case Segmentation::kOneByte: return "one-byte";
  }
  return "whole";
}

bool parseSegmentation(std::string_view name, Segmentation& out) {
  for (Segmentation s : {Segmentation::kWhole, Segmentation::kCoalesced, Segmentation::kRandom, Segmentation::kOneByte}) {
    if (name == segmentationName(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Packetizer::Packetizer(const Conversation& conversation, const PacketPlan& plan) : conv_(conversation), plan_(plan) {}

size_t Packetizer::write(l7::Direction dir, std::string_view bytes, int64_t ts_us) {
  std::string& stream = streams_[static_cast<int>(dir)];
  writes_.push_back(Write{dir, bytes.size(), ts_us, stream.size()});
  stream += bytes;
  return writes_.size() - 1;
}

std::vector<uint8_t> Packetizer::frame(const Packet& p, uint32_t ack) const {
  const bool from_client = p.dir == l7::Direction::kToServer;
  TcpFrameSpec spec;
  spec.link = plan_.link;
  spec.vlan_tags = plan_.vlan_tags;
  spec.src = from_client ? conv_.client : conv_.server;
  spec.dst = from_client ? conv_.server : conv_.client;
  const uint32_t isn = from_client ? conv_.client_isn : conv_.server_isn;
  spec.seq = isn + 1 + static_cast<uint32_t>(p.offset);
  spec.ack = ack;
  spec.flags = p.flags;
  if (p.size > 0) {
    const std::string& stream = streams_[static_cast<int>(p.dir)];
    spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(stream.data()) + p.offset, p.size);
  }
  return buildTcpFrame(spec);
}

void Packetizer::place() {
  placed_ = true;
  Rng rng(plan_.seed);
  std::vector<Packet>& packets = packets_;
  packets.clear();
  dropped_.clear();
  // 1. Cut the writes into packets.
  for (size_t i = 0; i < writes_.size(); ++i) {
    const Write& w = writes_[i];
    if (w.size == 0) continue;
    // A side's writes are consecutive in its stream: coalesced ones are
    // one longer range.
    size_t size = w.size;
    size_t last = i;
    if (plan_.segmentation == Segmentation::kCoalesced) {
      // Following writes of the same side go out with this one.
      while (last + 1 < writes_.size() && writes_[last + 1].dir == w.dir && size + writes_[last + 1].size <= plan_.mss) {
        size += writes_[++last].size;
      }
    }
    size_t pos = 0;
    int64_t ts = w.ts_us;
    while (pos < size) {
      size_t n = std::min(plan_.mss, size - pos);
      if (plan_.segmentation == Segmentation::kOneByte) n = 1;
      if (plan_.segmentation == Segmentation::kRandom) n = std::min<size_t>(n, 1 + rng.below(std::min<size_t>(plan_.mss, 64)));
      packets.push_back(Packet{w.dir, w.offset + pos, n, static_cast<uint8_t>(kPsh | kAck), ts});
      pos += n;
      ++ts;  // later pieces of one write leave a microsecond apart
    }
    i = last;
  }
  // 2. Noise: drop one, reorder adjacent same-side packets, retransmit some.
  if (plan_.drop_one && packets.size() > 2) {
    packets[1 + rng.below(packets.size() - 2)].dropped = true;
  }
  if (plan_.reorder_percent > 0) {
    // Joined mid-stream, a side's stream starts with the first of its
    // packets in the capture (nothing says where it began): that packet
    // stays first, so the capture starts at the boundary the model says.
    bool first_seen[2] = {false, false};
    for (size_t i = 0; i + 1 < packets.size(); ++i) {
      const int d = static_cast<int>(packets[i].dir);
      const bool starts_side = !first_seen[d];
      first_seen[d] = true;
      if (starts_side && !plan_.handshake) continue;
      if (packets[i].dir == packets[i + 1].dir && rng.below(100) < plan_.reorder_percent) {
        // The later segment arrives first; arrival times stay in capture order.
        std::swap(packets[i].ts_us, packets[i + 1].ts_us);
        std::swap(packets[i], packets[i + 1]);
        ++i;
      }
    }
  }
  if (plan_.retransmit_percent > 0) {
    std::vector<Packet> with_copies;
    for (size_t i = 0; i < packets.size(); ++i) {
      with_copies.push_back(packets[i]);
      if (!packets[i].dropped && rng.below(100) < plan_.retransmit_percent) {
        Packet copy = packets[i];
        copy.retransmission = true;
        copy.ts_us = i + 1 < packets.size() ? packets[i + 1].ts_us : packets[i].ts_us;
        with_copies.push_back(copy);
      }
    }
    packets = std::move(with_copies);
  }

  // Every packet gets its own time (capture order, strictly increasing), so
  // two messages share a start_time only when one packet carries both.
  for (size_t i = 1; i < packets.size(); ++i) {
    if (packets[i].ts_us <= packets[i - 1].ts_us) packets[i].ts_us = packets[i - 1].ts_us + 1;
  }

  // 3. Placement of each write: the first packet in capture order that
  // carries its first byte (the reassembler keeps the first copy). Packets
  // are indexed per direction by offset, so this stays O(n log n).
  struct Carrier {
    uint64_t offset, end;
    size_t order;  // position in capture order
  };
  std::vector<Carrier> carriers[2];
  std::vector<std::pair<uint64_t, uint64_t>> dropped[2];
  for (size_t k = 0; k < packets.size(); ++k) {
    const Packet& p = packets[k];
    const int d = static_cast<int>(p.dir);
    if (p.dropped) {
      dropped[d].emplace_back(p.offset, p.offset + p.size);
      dropped_.push_back(Dropped{p.dir, p.offset, p.offset + p.size});
    } else if (p.size > 0) {
      carriers[d].push_back(Carrier{p.offset, p.offset + p.size, k});
    }
  }
  for (auto& c : carriers) {
    std::sort(c.begin(), c.end(), [](const Carrier& a, const Carrier& b) { return a.offset < b.offset; });
  }
  placements_.assign(writes_.size(), Placement{});
  for (size_t i = 0; i < writes_.size(); ++i) {
    const Write& w = writes_[i];
    const int d = static_cast<int>(w.dir);
    const uint32_t isn = w.dir == l7::Direction::kToServer ? conv_.client_isn : conv_.server_isn;
    placements_[i].tcp_seq = isn + 1 + static_cast<uint32_t>(w.offset);
    placements_[i].ts_us = w.ts_us;
    const auto& c = carriers[d];
    // Carriers starting at or before the first byte; the ones that cover it
    // are among the last few (a packet is at most one MSS long).
    auto it = std::upper_bound(c.begin(), c.end(), w.offset, [](uint64_t v, const Carrier& x) { return v < x.offset; });
    size_t best = SIZE_MAX;
    for (int back = 0; it != c.begin() && back < 256; ++back) {
      --it;
      if (it->end > w.offset && it->order < best) best = it->order;
    }
    if (best != SIZE_MAX) placements_[i].ts_us = packets[best].ts_us;
    for (const auto& [from, to] : dropped[d]) {
      if (from < w.offset + w.size && w.offset < to) placements_[i].lost = true;
    }
    if (best == SIZE_MAX && w.size > 0) placements_[i].lost = true;
  }
}

std::vector<CapturedFrame> Packetizer::finish() {
  if (!placed_) place();
  const std::vector<Packet>& packets = packets_;
  // 4. Frames: handshake, data (acks follow what the peer sent so far), FIN.
  std::vector<CapturedFrame> frames;
  const int64_t start = writes_.empty() ? 0 : writes_.front().ts_us;
  uint64_t delivered[2] = {0, 0};
  auto ackFor = [&](l7::Direction dir) {
    const int peer = 1 - static_cast<int>(dir);
    const uint32_t peer_isn = peer == 0 ? conv_.client_isn : conv_.server_isn;
    return peer_isn + 1 + static_cast<uint32_t>(delivered[peer]);
  };
  if (plan_.handshake) {
    Packet syn{l7::Direction::kToServer, static_cast<uint64_t>(-1), 0, kSyn, start - 3};
    Packet synack{l7::Direction::kToClient, static_cast<uint64_t>(-1), 0, static_cast<uint8_t>(kSyn | kAck), start - 2};
    Packet ack{l7::Direction::kToServer, 0, 0, kAck, start - 1};
    frames.push_back({syn.ts_us, frame(syn, 0)});
    frames.push_back({synack.ts_us, frame(synack, conv_.client_isn + 1)});
    frames.push_back({ack.ts_us, frame(ack, conv_.server_isn + 1)});
  }
  for (const Packet& p : packets) {
    const int d = static_cast<int>(p.dir);
    if (!p.retransmission) delivered[d] = std::max<uint64_t>(delivered[d], p.offset + p.size);
    if (p.dropped) continue;
    frames.push_back({p.ts_us, frame(p, ackFor(p.dir))});
  }
  if (plan_.close) {
    const int64_t end = (packets.empty() ? start : packets.back().ts_us) + 1;
    Packet fin_c{l7::Direction::kToServer, streams_[0].size(), 0, static_cast<uint8_t>(kFin | kAck), end};
    Packet fin_s{l7::Direction::kToClient, streams_[1].size(), 0, static_cast<uint8_t>(kFin | kAck), end + 1};
    frames.push_back({fin_c.ts_us, frame(fin_c, ackFor(fin_c.dir))});
    frames.push_back({fin_s.ts_us, frame(fin_s, ackFor(fin_s.dir) + 1)});
  }
  return frames;
}

}  // namespace l7h::synth
