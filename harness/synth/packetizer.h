// Packetizer: a conversation's two byte streams → a capture.
//
// Each write() is one message from one side at one time. finish() turns the
// writes into TCP packets under a segmentation plan (whole messages,
// coalesced, random splits, one byte per packet), optionally with
// retransmissions, reordering and one dropped packet (a gap), behind an
// optional handshake and FIN exchange, and reports for every write the
// timestamp and TCP sequence number of the packet that carries its first
// byte — exactly what an l7_flow_log record must show. Deterministic: the
// same inputs and seed give the same frames.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/frame_builder.h"
#include "l7/decoder.h"

namespace l7h::synth {

enum class Segmentation : uint8_t { kWhole, kCoalesced, kRandom, kOneByte };
const char* segmentationName(Segmentation s);
bool parseSegmentation(std::string_view name, Segmentation& out);

struct PacketPlan {
  Segmentation segmentation = Segmentation::kWhole;
  uint64_t seed = 1;
  size_t mss = 1460;
  bool handshake = true;      // false: the capture starts mid-connection (each side's first packet stays first)
  bool close = true;          // FIN exchange at the end
  uint32_t retransmit_percent = 0;
  uint32_t reorder_percent = 0;
  bool drop_one = false;      // drop one data packet (a gap)
  LinkType link = LinkType::kEthernet;
  std::vector<uint16_t> vlan_tags;
};

struct Conversation {
  Endpoint client;
  Endpoint server;
  uint32_t client_isn = 1000;
  uint32_t server_isn = 5000;
};

struct Placement {
  int64_t ts_us = 0;
  uint32_t tcp_seq = 0;
  bool lost = false;  // some byte of this write was in the dropped packet
};

// splitmix64: small, portable, and the same sequence everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  // `n` characters drawn from `alphabet`.
  std::string text(size_t n, std::string_view alphabet) {
    std::string s;
    s.reserve(n);
    for (size_t i = 0; i < n; ++i) s.push_back(alphabet[below(alphabet.size())]);
    return s;
  }

 private:
  uint64_t state_;
};

class Packetizer {
 public:
  Packetizer(const Conversation& conversation, const PacketPlan& plan);
  // Returns the write's index (for placements()).
  size_t write(l7::Direction dir, std::string_view bytes, int64_t ts_us);
  // Cuts the writes into packets and places each write; after it,
  // placements() and dropped() are valid. Frames are the costly part
  // (headers, checksums): a caller that needs only where the messages fall
  // stops here.
  void place();
  // place() (unless done) and the frames.
  std::vector<CapturedFrame> finish();
  const std::vector<Placement>& placements() const { return placements_; }
  // After place(): the stream bytes [from, to) of the dropped packet, if any.
  struct Dropped {
    l7::Direction dir;
    uint64_t from, to;
  };
  const std::vector<Dropped>& dropped() const { return dropped_; }

 private:
  // Writes and packets are ranges of their side's stream (streams_).
  struct Write {
    l7::Direction dir;
    size_t size;
    int64_t ts_us;
    uint64_t offset;  // stream offset of the first byte
  };
  struct Packet {
    l7::Direction dir;
    uint64_t offset;  // stream offset of the payload's first byte
    size_t size;      // payload bytes
    uint8_t flags;
    int64_t ts_us;
    bool dropped = false;
    bool retransmission = false;
  };
  std::vector<uint8_t> frame(const Packet& p, uint32_t ack) const;

  Conversation conv_;
  PacketPlan plan_;
  std::vector<Write> writes_;
  std::string streams_[2];  // each side's bytes, in write order
  std::vector<Packet> packets_;
  bool placed_ = false;
  std::vector<Placement> placements_;
  std::vector<Dropped> dropped_;
};

}  // namespace l7h::synth
