// Capture layer: link types, VLAN, IP fragments, TCP reassembly (order,
// retransmission, overlap, gaps, wraparound, close, eviction), snap-length
// cuts and bad files. Captures are built in memory with the frame builder
// and the packetizer, written to temporary files and read back by libpcap.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <pcap/pcap.h>

#include "capture/frame_builder.h"
#include "capture/packet_layers.h"
#include "capture/pcap_input.h"
#include "capture/tcp_flows.h"
#include "synth/packetizer.h"

namespace l7h {
namespace {

namespace fs = std::filesystem;
using synth::Packetizer;
using synth::PacketPlan;
using synth::Segmentation;

struct Recorded {
  std::map<ConnId, ConnectionInfo> opened;
  std::map<ConnId, std::string> bytes[2];
  std::map<ConnId, uint64_t> gap_bytes[2];
  std::map<ConnId, int> gaps[2];
  std::map<ConnId, int> side_closed[2];
  std::vector<ConnId> closed;
  std::map<ConnId, std::vector<uint32_t>> first_seq[2];
  std::vector<std::string> events;  // "<side>:<bytes>" and "<side>:gap", in delivery order
};

class RecordingSink final : public StreamSink {
 public:
  Recorded r;
  void onOpen(const ConnectionInfo& info) override { r.opened[info.id] = info; }
  void onData(ConnId id, const DataChunk& c) override {
    auto& s = r.bytes[c.side][id];
    EXPECT_EQ(c.stream_offset, s.size() + r.gap_bytes[c.side][id]) << "contiguous delivery";
    if (s.empty() && r.gap_bytes[c.side][id] == 0) r.first_seq[c.side][id].push_back(c.tcp_seq);
    s.append(reinterpret_cast<const char*>(c.data.data()), c.data.size());
    r.events.push_back(std::to_string(c.side) + ":" + std::string(reinterpret_cast<const char*>(c.data.data()), c.data.size()));
  }
  void onGap(ConnId id, int side, uint64_t missing, int64_t) override {
    r.events.push_back(std::to_string(side) + ":gap");
    r.gaps[side][id]++;
    r.gap_bytes[side][id] += missing;
  }
  void onSideClosed(ConnId id, int side, int64_t) override { r.side_closed[side][id]++; }
  void onClose(ConnId id, int64_t) override { r.closed.push_back(id); }
  void onClock(int64_t) override {}
};

fs::path tempPath(const std::string& name) {
  return fs::temp_directory_path() / ("l7conform_capture_test_" + std::to_string(::getpid()) + "_" + name);
}

struct Replayed {
  Recorded rec;
  CaptureStats stats;
  std::string error;
};

Replayed replayFile(const fs::path& path, const CaptureOptions& options = {}) {
  Replayed out;
  auto in = PcapInput::openFile(path.string(), out.error);
  if (!in) return out;
  RecordingSink sink;
  PacketPipeline pipeline(sink, options, out.stats);
  RawPacket p;
  int rc;
  while ((rc = in->next(p)) == 1) pipeline.onPacket(p);
  if (rc < 0) out.error = in->error();
  pipeline.finish();
  out.rec = std::move(sink.r);
  return out;
}

Replayed replayFrames(LinkType link, const std::vector<CapturedFrame>& frames, const CaptureOptions& options = {},
                      bool pcapng = false) {
  const fs::path path = tempPath(pcapng ? "x.pcapng" : "x.pcap");
  std::string error;
  EXPECT_TRUE(pcapng ? writePcapng(path.string(), link, frames, error) : writePcap(path.string(), link, frames, error));
  Replayed r = replayFile(path, options);
  fs::remove(path);
  return r;
}

synth::Conversation conversation(bool v4, uint32_t client_isn = 1000, uint32_t server_isn = 5000) {
  synth::Conversation c;
  if (v4) {
    c.client.ip.bytes = {10, 0, 0, 1};
    c.server.ip.bytes = {10, 0, 0, 2};
  } else {
    c.client.ip.v4 = c.server.ip.v4 = false;
    c.client.ip.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    c.server.ip.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  }
  c.client.port = 40000;
  c.server.port = 4222;
  c.client_isn = client_isn;
  c.server_isn = server_isn;
  return c;
}

const std::string kRequest = "request bytes: the client speaks first\n";
const std::string kResponse = "response bytes: and the server answers, somewhat longer\n";

std::vector<CapturedFrame> simpleExchange(const synth::Conversation& conv, PacketPlan plan) {
  Packetizer p(conv, plan);
  p.write(l7::Direction::kToServer, kRequest, 1'000'000);
  p.write(l7::Direction::kToClient, kResponse, 1'000'100);
  p.write(l7::Direction::kToServer, kRequest, 1'000'200);
  return p.finish();
}

void expectExchange(Replayed r) {
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rec.opened.size(), 1u);
  EXPECT_TRUE(r.rec.opened.begin()->second.handshake_seen);
  EXPECT_EQ(r.rec.bytes[0].at(1), kRequest + kRequest);
  EXPECT_EQ(r.rec.bytes[1].at(1), kResponse);
  EXPECT_EQ(r.rec.gaps[0][1] + r.rec.gaps[1][1], 0);
  EXPECT_EQ(r.rec.side_closed[0][1], 1);
  EXPECT_EQ(r.rec.side_closed[1][1], 1);
  EXPECT_EQ(r.rec.closed.size(), 1u);
}

TEST(Capture, EveryLinkTypeBothIpVersions) {
  for (LinkType link : {LinkType::kEthernet, LinkType::kLinuxSll, LinkType::kLinuxSll2, LinkType::kNull, LinkType::kRawIp}) {
    for (bool v4 : {true, false}) {
      PacketPlan plan;
      plan.link = link;
      SCOPED_TRACE(std::to_string(static_cast<int>(link)) + (v4 ? " v4" : " v6"));
      expectExchange(replayFrames(link, simpleExchange(conversation(v4), plan)));
    }
  }
}

TEST(Capture, VlanAndQinQ) {
  for (std::vector<uint16_t> tags : {std::vector<uint16_t>{100}, std::vector<uint16_t>{100, 200}}) {
    PacketPlan plan;
    plan.vlan_tags = tags;
    expectExchange(replayFrames(LinkType::kEthernet, simpleExchange(conversation(true), plan)));
  }
}

TEST(Capture, PcapngInput) {
  expectExchange(replayFrames(LinkType::kEthernet, simpleExchange(conversation(false), PacketPlan{}), {}, true));
}

TEST(Capture, ReorderedRetransmittedAndTinySegments) {
  PacketPlan plan;
  plan.segmentation = Segmentation::kOneByte;
  plan.reorder_percent = 40;
  plan.retransmit_percent = 30;
  Replayed r = replayFrames(LinkType::kEthernet, simpleExchange(conversation(true), plan));
  expectExchange(r);
  EXPECT_GT(r.stats.out_of_order_segments, 0u);
  EXPECT_GT(r.stats.retransmitted_bytes, 0u);
}

TEST(Capture, SequenceWraparound) {
  PacketPlan plan;
  plan.segmentation = Segmentation::kRandom;
  expectExchange(replayFrames(LinkType::kEthernet, simpleExchange(conversation(true, 0xFFFFFFF0u, 0xFFFFFFFEu), plan)));
}

TEST(Capture, DroppedSegmentBecomesAGapOfTheRightSize) {
  PacketPlan plan;
  plan.segmentation = Segmentation::kOneByte;
  plan.drop_one = true;
  plan.seed = 3;
  Replayed r = replayFrames(LinkType::kEthernet, simpleExchange(conversation(true), plan));
  ASSERT_EQ(r.error, "");
  const int gaps = r.rec.gaps[0][1] + r.rec.gaps[1][1];
  EXPECT_EQ(gaps, 1);
  EXPECT_EQ(r.rec.gap_bytes[0][1] + r.rec.gap_bytes[1][1], 1u);
  EXPECT_EQ(r.rec.bytes[0][1].size() + r.rec.bytes[1][1].size(), 2 * kRequest.size() + kResponse.size() - 1);
}

// Appends one TCP frame of `conv` (client to server or back), one
// microsecond after the previous frame.
void addFrame(std::vector<CapturedFrame>& frames, const synth::Conversation& conv, bool from_client, uint32_t seq,
              uint32_t ack, uint8_t flags, const std::string& payload) {
  TcpFrameSpec spec;
  spec.src = from_client ? conv.client : conv.server;
  spec.dst = from_client ? conv.server : conv.client;
  spec.seq = seq;
  spec.ack = ack;
  spec.flags = flags;
  spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  frames.push_back({static_cast<int64_t>(frames.size() + 1), buildTcpFrame(spec)});
}

// A segment lost from the capture (not from the wire): when the server's
// reply acknowledges past the hole, the client's held bytes are delivered
// before the reply itself, so a decoder sees the request before its response.
TEST(Capture, AckPastAHoleDeliversThePeersHeldBytesFirst) {
  const auto conv = conversation(true);
  std::vector<CapturedFrame> frames;
  auto add = [&](bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, const std::string& payload) {
    addFrame(frames, conv, from_client, seq, ack, flags, payload);
  };
  add(true, 1000, 0, 0x02, "");          // SYN
  add(false, 5000, 1001, 0x12, "");      // SYN-ACK
  add(true, 1001, 5001, 0x10, "");       // ACK
  // The client's "lost!" at 1001 is not in the capture; "held" waits behind it.
  add(true, 1006, 5001, 0x18, "held");
  add(false, 5001, 1010, 0x18, "reply");  // acknowledges both
  Replayed r = replayFrames(LinkType::kEthernet, frames);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.rec.events, (std::vector<std::string>{"0:gap", "0:held", "1:reply"}));
}

// Client segments of one handshaken connection, in capture order, with
// their sequence numbers relative to the first data byte (ISN 1000).
std::vector<CapturedFrame> clientSegments(const std::vector<std::pair<uint32_t, std::string>>& segments) {
  const auto conv = conversation(true);
  std::vector<CapturedFrame> frames;
  auto add = [&](bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, const std::string& payload) {
    addFrame(frames, conv, from_client, seq, ack, flags, payload);
  };
  add(true, 1000, 0, 0x02, "");
  add(false, 5000, 1001, 0x12, "");
  add(true, 1001, 5001, 0x10, "");
  for (const auto& [rel, payload] : segments) add(true, 1001 + rel, 5001, 0x18, payload);
  return frames;
}

// Overlapping copies with different bytes (a retransmission that does not
// match, or an evasion attempt): the copy that reached the capture first
// wins, whether it was held out of order or delivered in order.
TEST(Capture, OverlapKeepsTheFirstCopyWhenTheInOrderSegmentArrivesLater) {
  Replayed r = replayFrames(LinkType::kEthernet, clientSegments({{5, "HELD!"}, {0, "aaaaaXXXXXtail"}}));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.rec.bytes[0].at(1), "aaaaaHELD!tail");
  EXPECT_EQ(r.rec.gaps[0][1], 0);
  EXPECT_EQ(r.stats.overlapping_segments, 1u);
  EXPECT_EQ(r.stats.retransmitted_bytes, 5u);
}

TEST(Capture, OverlapKeepsTheFirstCopyAmongHeldSegments) {
  // [5,10) is held first; [3,8) arrives later and only its uncovered [3,5)
  // is kept; [12,14) and then [9,13) leave [10,12) to the later copy.
  Replayed r = replayFrames(LinkType::kEthernet,
                            clientSegments({{5, "BBBBB"}, {3, "ccccc"}, {12, "EE"}, {9, "dddd"}, {0, "000"}}));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.rec.bytes[0].at(1), "000ccBBBBBddEE");
  EXPECT_EQ(r.rec.gaps[0][1], 0);
  EXPECT_EQ(r.stats.overlapping_segments, 2u);
}

TEST(Capture, InOrderSegmentEndingInsideAHeldRunIsNotDuplicated) {
  Replayed r = replayFrames(LinkType::kEthernet, clientSegments({{4, "4567"}, {0, "0123XY"}, {8, "89"}}));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.rec.bytes[0].at(1), "0123456789");
  EXPECT_EQ(r.rec.gaps[0][1], 0);
}

// One-byte segments ahead of a hole cost their bookkeeping, not one byte
// each: the per-connection cap counts it, and so does the replay's budget.
TEST(Capture, OutOfOrderRunsCountTheirOverheadAgainstTheCaps) {
  std::vector<std::pair<uint32_t, std::string>> segments;
  std::string expected = "h";
  for (uint32_t i = 1; i <= 1000; ++i) {
    segments.emplace_back(i, std::string(1, static_cast<char>('a' + i % 26)));
    expected += segments.back().second;
  }
  CaptureOptions options;
  options.max_buffered_per_connection = 16 << 10;  // 1000 payload bytes would fit
  MemoryBudget budget;
  options.budget = &budget;
  auto frames = clientSegments(segments);
  Replayed r = replayFrames(LinkType::kEthernet, frames, options);
  ASSERT_EQ(r.error, "");
  // The hole (byte 0) is declared once the held runs' cost passes the cap;
  // the segments after that are in order again.
  EXPECT_EQ(r.stats.gaps, 1u);
  EXPECT_LE(r.stats.out_of_order_segments, (16u << 10) / PacketPipeline::kHeldRunOverhead + 1);
  EXPECT_EQ(r.rec.bytes[0].at(1), expected.substr(1));
  EXPECT_GT(budget.peak(), 16u << 10);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(Capture, MidStreamStart) {
  PacketPlan plan;
  plan.handshake = false;
  Replayed r = replayFrames(LinkType::kEthernet, simpleExchange(conversation(true), plan));
  ASSERT_EQ(r.rec.opened.size(), 1u);
  EXPECT_FALSE(r.rec.opened.at(1).handshake_seen);
  EXPECT_EQ(r.rec.opened.at(1).side[0].port, 40000);  // first sender
  EXPECT_EQ(r.rec.bytes[0].at(1), kRequest + kRequest);
  EXPECT_EQ(r.rec.first_seq[0].at(1).front(), 1001u);
}

TEST(Capture, IpFragmentsInAnyOrderWithOverlap) {
  for (bool v4 : {true, false}) {
    const auto conv = conversation(v4);
    TcpFrameSpec spec;
    spec.src = conv.client;
    spec.dst = conv.server;
    spec.seq = 1001;
    spec.flags = 0x18;
    const std::string payload(300, 'f');
    spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    auto pieces = buildFragmentedTcpFrames(spec, 64);
    ASSERT_GT(pieces.size(), 3u);
    std::vector<CapturedFrame> frames;
    // Last fragment first, a duplicate in the middle.
    frames.push_back({10, pieces.back()});
    for (size_t i = 0; i + 1 < pieces.size(); ++i) frames.push_back({static_cast<int64_t>(11 + i), pieces[i]});
    frames.push_back({50, pieces[1]});
    Replayed r = replayFrames(LinkType::kEthernet, frames);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.rec.bytes[0].at(1), payload) << (v4 ? "v4" : "v6");
    EXPECT_EQ(r.stats.reassembled_datagrams, 1u);
  }
}

// Reassembly tracks the bytes the held pieces cover as they arrive (so a
// duplicate does not walk them all); it must decide exactly as a walk over
// every piece would: whole at the same fragment, with the same bytes. Pieces
// overlap, repeat, and come in any order; each byte of a piece says which
// piece it came from, so the first-copy rule shows in the result.
TEST(Capture, IncrementalFragmentCoverageDecidesAsAFullWalk) {
  struct Piece {
    uint32_t offset;
    uint32_t length;
    bool more;
  };
  constexpr size_t kTcpHeader = 20;
  const bool ok = rc::check("fragment coverage", [] {
    const uint32_t total = 8 * *rc::gen::inRange<uint32_t>(3, 80) + *rc::gen::inRange<uint32_t>(0, 8);
    std::vector<Piece> pieces;
    // Enough aligned pieces to cover the datagram (some of them dropped), the
    // last fragment, and random extra pieces: overlaps and duplicates.
    for (uint32_t off = 0; off < total; off += 8) {
      if (*rc::gen::inRange(0, 10) > 0) pieces.push_back({off, std::min<uint32_t>(8, total - off), true});
    }
    // Not at offset 0: offset 0 without "more fragments" is a whole datagram.
    const uint32_t last_offset = 8 * *rc::gen::inRange<uint32_t>(1, (total - 1) / 8 + 1);
    pieces.push_back({last_offset, total - last_offset, false});
    const size_t extra = *rc::gen::inRange<size_t>(0, 40);
    for (size_t i = 0; i < extra; ++i) {
      const uint32_t off = 8 * *rc::gen::inRange<uint32_t>(0, (total - 1) / 8 + 1);
      pieces.push_back({off, std::min<uint32_t>(*rc::gen::inRange<uint32_t>(1, 64), total - off), true});
    }
    const auto order = *rc::gen::container<std::vector<uint32_t>>(pieces.size(), rc::gen::arbitrary<uint32_t>());
    std::vector<size_t> index(pieces.size());
    for (size_t i = 0; i < index.size(); ++i) index[i] = i;
    std::sort(index.begin(), index.end(), [&](size_t a, size_t b) { return order[a] < order[b] || (order[a] == order[b] && a < b); });

    // The reference: the pieces held so far, walked after every arrival.
    std::map<uint32_t, std::vector<uint8_t>> held;
    uint32_t known_total = 0;
    LayerCounters counters;
    MemoryBudget budget;  // held pieces count against it, and give it back
    auto layers_owner = std::make_unique<PacketLayers>(counters, &budget);
    PacketLayers& layers = *layers_owner;
    for (size_t n = 0; n < index.size(); ++n) {
      const size_t k = index[n];
      const Piece& piece = pieces[k];
      std::vector<uint8_t> body(piece.length);
      for (uint32_t i = 0; i < piece.length; ++i) {
        const uint32_t at = piece.offset + i;
        body[i] = at < kTcpHeader ? (at == 12 ? 0x50 : 0) : static_cast<uint8_t>('a' + k % 26);
      }
      std::vector<uint8_t> packet = {0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
      const uint16_t ip_len = static_cast<uint16_t>(20 + body.size());
      packet[2] = static_cast<uint8_t>(ip_len >> 8);
      packet[3] = static_cast<uint8_t>(ip_len);
      const uint16_t field = static_cast<uint16_t>((piece.more ? 0x2000 : 0) | (piece.offset / 8));
      packet[6] = static_cast<uint8_t>(field >> 8);
      packet[7] = static_cast<uint8_t>(field);
      packet.insert(packet.end(), body.begin(), body.end());
      RawPacket raw;
      raw.ts_us = static_cast<int64_t>(n);
      raw.caplen = raw.wirelen = static_cast<uint32_t>(packet.size());
      raw.linktype = DLT_RAW;
      raw.data = packet.data();
      TcpSegment segment;
      const DecodeOutcome got = layers.decode(raw, segment);

      if (!piece.more) known_total = piece.offset + piece.length;
      held.emplace(piece.offset, body);
      uint64_t covered = 0;
      for (const auto& [off, bytes] : held) {
        if (off > covered) break;
        covered = std::max<uint64_t>(covered, off + bytes.size());
      }
      if (known_total == 0 || covered < known_total) {
        RC_ASSERT(got == DecodeOutcome::kFragmentHeld);
        uint64_t held_bytes = 0;
        for (const auto& entry : held) held_bytes += entry.second.size();
        RC_ASSERT(budget.used(MemoryHolder::kIpFragments) >= held_bytes);
        continue;
      }
      RC_ASSERT(budget.used(MemoryHolder::kIpFragments) == 0u);
      std::vector<uint8_t> whole(known_total, 0);
      std::vector<bool> filled(known_total, false);
      for (const auto& [off, bytes] : held) {
        for (size_t i = 0; i < bytes.size() && off + i < known_total; ++i) {
          if (!filled[off + i]) whole[off + i] = bytes[i], filled[off + i] = true;
        }
      }
      RC_ASSERT(got == DecodeOutcome::kTcp);
      RC_ASSERT(std::vector<uint8_t>(segment.payload.begin(), segment.payload.end()) ==
                std::vector<uint8_t>(whole.begin() + kTcpHeader, whole.end()));
      held.clear();  // a datagram that completes is forgotten; later pieces start a new one
      known_total = 0;
    }
    layers_owner.reset();  // datagrams still held at the end give their account back
    RC_ASSERT(budget.used() == 0u);
  });
  EXPECT_TRUE(ok);
}

// TCP Fast Open: the first request rides on the SYN. It is delivered; and
// when the server did not take it (its SYN-ACK acknowledges only the SYN),
// the client's copy after the handshake is a retransmission, not more data.
TEST(Capture, DataOnASynIsDelivered) {
  for (bool server_took_it : {true, false}) {
    SCOPED_TRACE(server_took_it ? "server took the SYN data" : "client sent it again");
    const auto conv = conversation(true);
    const uint32_t client_isn = 1000, server_isn = 5000;
    const uint32_t after_request = client_isn + 1 + static_cast<uint32_t>(kRequest.size());
    std::vector<CapturedFrame> frames;
    addFrame(frames, conv, true, client_isn, 0, 0x02, kRequest);
    addFrame(frames, conv, false, server_isn, server_took_it ? after_request : client_isn + 1, 0x12, "");
    if (!server_took_it) addFrame(frames, conv, true, client_isn + 1, server_isn + 1, 0x18, kRequest);
    addFrame(frames, conv, false, server_isn + 1, after_request, 0x18, kResponse);
    Replayed r = replayFrames(LinkType::kEthernet, frames);
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.rec.opened.size(), 1u);
    EXPECT_TRUE(r.rec.opened.at(1).handshake_seen);
    EXPECT_EQ(r.rec.bytes[0].at(1), kRequest);
    EXPECT_EQ(r.rec.bytes[1].at(1), kResponse);
    EXPECT_EQ(r.rec.gaps[0][1] + r.rec.gaps[1][1], 0);
    EXPECT_EQ(r.stats.retransmitted_bytes, server_took_it ? 0u : kRequest.size());
  }
}

TEST(Capture, Ipv6ExtensionHeaders) {
  auto conv = conversation(false);
  TcpFrameSpec spec;
  spec.src = conv.client;
  spec.dst = conv.server;
  spec.seq = 7;
  spec.ipv6_extensions = {0, 60};
  const std::string payload = "behind two extension headers";
  spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  Replayed r = replayFrames(LinkType::kEthernet, {{1, buildTcpFrame(spec)}});
  EXPECT_EQ(r.rec.bytes[0].at(1), payload);
}

TEST(Capture, SnapLengthCutBecomesGap) {
  const auto conv = conversation(true);
  TcpFrameSpec spec;
  spec.src = conv.client;
  spec.dst = conv.server;
  spec.seq = 100;
  const std::string first(200, 'a'), second = "next";
  spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(first.data()), first.size());
  auto cut = buildTcpFrame(spec);
  const uint32_t orig = static_cast<uint32_t>(cut.size());
  cut.resize(cut.size() - 150);
  spec.seq = 300;
  spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(second.data()), second.size());
  Replayed r = replayFrames(LinkType::kEthernet, {{1, cut, orig}, {2, buildTcpFrame(spec)}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.stats.truncated, 1u);
  EXPECT_EQ(r.rec.bytes[0].at(1), std::string(50, 'a') + second);
  EXPECT_EQ(r.rec.gap_bytes[0].at(1), 150u);
}

TEST(Capture, ResetClosesAndIdleAndFullTableEvict) {
  auto conv = conversation(true);
  std::vector<CapturedFrame> frames;
  auto data = [&](uint16_t port, int64_t ts, uint8_t flags) {
    TcpFrameSpec spec;
    spec.src = conv.client;
    spec.src.port = port;
    spec.dst = conv.server;
    spec.seq = 1;
    spec.flags = flags;
    static const std::string x = "x";
    spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(x.data()), x.size());
    frames.push_back({ts, buildTcpFrame(spec)});
  };
  data(1, 1'000'000, 0x18);
  data(2, 1'000'001, 0x18);
  data(3, 1'000'002, 0x18);  // table of 2: evicts port 1
  data(2, 1'000'003, 0x04);  // RST closes port 2
  data(4, 900'000'000, 0x18);  // long after: port 3 idles out
  CaptureOptions options;
  options.max_connections = 2;
  options.idle_timeout_us = 60'000'000;
  Replayed r = replayFrames(LinkType::kEthernet, frames, options);
  ASSERT_EQ(r.rec.closed.size(), 4u);
  EXPECT_EQ(r.rec.closed[0], 1u);  // evicted
  EXPECT_EQ(r.rec.closed[1], 2u);  // reset
  EXPECT_EQ(r.rec.closed[2], 3u);  // idle
  EXPECT_EQ(r.rec.closed[3], 4u);  // end of input
  EXPECT_EQ(r.stats.evicted, 2u);
}

// Live capture: when nothing arrives, the wall clock alone must close idle
// connections (and their sessions flush), not only the next packet.
TEST(Capture, ClockWithoutPacketsClosesIdleConnections) {
  auto conv = conversation(true);
  TcpFrameSpec spec;
  spec.src = conv.client;
  spec.dst = conv.server;
  spec.seq = 1;
  spec.flags = 0x18;
  static const std::string x = "x";
  spec.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(x.data()), x.size());
  const std::vector<uint8_t> frame = buildTcpFrame(spec);
  RecordingSink sink;
  CaptureStats stats;
  CaptureOptions options;
  options.idle_timeout_us = 60'000'000;
  PacketPipeline pipeline(sink, options, stats);
  RawPacket p;
  p.ts_us = 1'000'000;
  p.caplen = p.wirelen = static_cast<uint32_t>(frame.size());
  p.linktype = 1;
  p.data = frame.data();
  pipeline.onPacket(p);
  pipeline.onClock(30'000'000);
  EXPECT_TRUE(sink.r.closed.empty());
  pipeline.onClock(62'000'000);
  ASSERT_EQ(sink.r.closed.size(), 1u);
  EXPECT_EQ(stats.evicted, 1u);
  EXPECT_EQ(pipeline.openConnections(), 0u);
}

TEST(Capture, BadFilesGiveOneLineErrors) {
  const fs::path garbage = tempPath("garbage.pcap");
  std::ofstream(garbage) << "this is not a capture file at all";
  std::string error;
  EXPECT_EQ(PcapInput::openFile(garbage.string(), error), nullptr);
  EXPECT_NE(error.find(garbage.string()), std::string::npos);
  fs::remove(garbage);
  EXPECT_EQ(PcapInput::openFile("/nonexistent/file.pcap", error), nullptr);
  EXPECT_NE(error.find("/nonexistent/file.pcap"), std::string::npos);

  // A truncated file: the packets before the cut are still delivered.
  auto frames = simpleExchange(conversation(true), PacketPlan{});
  auto bytes = pcapBytes(LinkType::kEthernet, frames);
  bytes.resize(bytes.size() - 10);
  const fs::path cut = tempPath("cut.pcap");
  std::ofstream(cut, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
  Replayed r = replayFile(cut);
  fs::remove(cut);
  EXPECT_NE(r.error, "");
  EXPECT_GT(r.stats.packets, 5u);

  // An unsupported link type (802.11 = 105).
  auto wifi = pcapBytes(LinkType::kEthernet, {});
  wifi[20] = 105;
  const fs::path wpath = tempPath("wifi.pcap");
  std::ofstream(wpath, std::ios::binary).write(reinterpret_cast<const char*>(wifi.data()), static_cast<long>(wifi.size()));
  EXPECT_EQ(PcapInput::openFile(wpath.string(), error), nullptr);
  EXPECT_NE(error.find("unsupported link type"), std::string::npos) << error;
  fs::remove(wpath);
}

TEST(Capture, MalformedPacketsAreCountedNotFatal) {
  std::vector<CapturedFrame> frames;
  frames.push_back({1, {0x01, 0x02, 0x03}});  // shorter than Ethernet
  std::vector<uint8_t> bad_ip(14 + 20, 0);
  bad_ip[12] = 0x08;
  bad_ip[14] = 0x4F;  // IHL 60 bytes in a 20-byte packet
  frames.push_back({2, bad_ip});
  Replayed r = replayFrames(LinkType::kEthernet, frames);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.stats.bad_packets, 2u);
}

TEST(IpAddress, Rfc5952Text) {
  IpAddress a;
  a.v4 = false;
  a.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(a.toString(), "2001:db8::1");
  IpAddress b;
  b.bytes = {127, 0, 0, 1};
  EXPECT_EQ(b.toString(), "127.0.0.1");
}

// Whatever the segmentation, order and duplication of segments, the
// delivered streams are exactly what each side sent.
TEST(CaptureProperty, AnySegmentationDeliversTheSameBytes) {
  const bool ok = rc::check("reassembly is segmentation-invariant", [] {
    const auto client = *rc::gen::container<std::vector<std::string>>(
        *rc::gen::inRange<size_t>(1, 6), rc::gen::nonEmpty(rc::gen::string<std::string>()));
    const auto server = *rc::gen::container<std::vector<std::string>>(
        *rc::gen::inRange<size_t>(0, 6), rc::gen::nonEmpty(rc::gen::string<std::string>()));
    PacketPlan plan;
    plan.segmentation = *rc::gen::element(Segmentation::kWhole, Segmentation::kCoalesced, Segmentation::kRandom,
                                          Segmentation::kOneByte);
    plan.reorder_percent = *rc::gen::inRange<uint32_t>(0, 60);
    plan.retransmit_percent = *rc::gen::inRange<uint32_t>(0, 60);
    plan.seed = *rc::gen::arbitrary<uint64_t>();
    plan.mss = *rc::gen::inRange<size_t>(1, 200);
    const uint32_t isn = *rc::gen::arbitrary<uint32_t>();
    Packetizer p(conversation(true, isn, isn ^ 0x5a5a5a5au), plan);
    std::string sent[2];
    int64_t ts = 1'000'000;
    for (size_t i = 0; i < std::max(client.size(), server.size()); ++i) {
      if (i < client.size()) {
        p.write(l7::Direction::kToServer, client[i], ts += 10);
        sent[0] += client[i];
      }
      if (i < server.size()) {
        p.write(l7::Direction::kToClient, server[i], ts += 10);
        sent[1] += server[i];
      }
    }
    Replayed r = replayFrames(LinkType::kEthernet, p.finish());
    RC_ASSERT(r.error.empty());
    RC_ASSERT(r.rec.bytes[0][1] == sent[0]);
    RC_ASSERT(r.rec.bytes[1][1] == sent[1]);
    RC_ASSERT(r.rec.gaps[0][1] + r.rec.gaps[1][1] == 0);
  });
  EXPECT_TRUE(ok);
}

// The writers, read back by libpcap itself (not by PcapInput), so a writer
// bug cannot hide behind a matching reader bug.
struct ReadPacket {
  int64_t sec = 0, usec = 0;
  uint32_t caplen = 0, len = 0;
  std::vector<uint8_t> bytes;
  bool operator==(const ReadPacket&) const = default;
};

struct ReadCapture {
  std::string error;
  int datalink = -1;
  int snapshot = 0;
  std::vector<ReadPacket> packets;
};

ReadCapture readWithLibpcap(const fs::path& path) {
  ReadCapture out;
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);  // microsecond timestamps by default
  if (p == nullptr) {
    out.error = errbuf;
    return out;
  }
  out.datalink = pcap_datalink(p);
  out.snapshot = pcap_snapshot(p);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    out.packets.push_back({h->ts.tv_sec, h->ts.tv_usec, h->caplen, h->len, std::vector<uint8_t>(data, data + h->caplen)});
  }
  if (rc != PCAP_ERROR_BREAK) out.error = pcap_geterr(p);  // anything but a clean end of file
  pcap_close(p);
  return out;
}

// What each frame must read back as: seconds and microseconds of ts_us,
// the bytes, and the wire length (orig_len when it simulates a cut).
std::vector<ReadPacket> expectedPackets(const std::vector<CapturedFrame>& frames) {
  std::vector<ReadPacket> out;
  for (const CapturedFrame& f : frames) {
    const uint32_t caplen = static_cast<uint32_t>(f.bytes.size());
    out.push_back({f.ts_us / 1'000'000, f.ts_us % 1'000'000, caplen, f.orig_len != 0 ? f.orig_len : caplen, f.bytes});
  }
  return out;
}

// Frames of every kind the synthesizer writes on `link`: handshake, data in
// odd sizes (pcapng pads them), both IP versions and VLAN tags on Ethernet,
// timestamps at the edges of a second, and a snap-length cut.
std::vector<CapturedFrame> writerFrames(LinkType link) {
  std::vector<CapturedFrame> frames;
  for (bool v4 : {true, false}) {
    PacketPlan plan;
    plan.link = link;
    plan.segmentation = Segmentation::kRandom;
    plan.mss = 7;
    if (link == LinkType::kEthernet && !v4) plan.vlan_tags = {100, 200};
    for (CapturedFrame& f : simpleExchange(conversation(v4), plan)) frames.push_back(std::move(f));
  }
  const int64_t edges[] = {1'767'225'600'000'000, 1'767'225'600'999'999, 1'767'225'601'000'001, 1};
  for (size_t i = 0; i < frames.size(); ++i) frames[i].ts_us = edges[i % 4] + static_cast<int64_t>(i / 4) * 1'000'000;
  frames.back().orig_len = static_cast<uint32_t>(frames.back().bytes.size()) + 1000;
  return frames;
}

constexpr LinkType kWriterLinks[] = {LinkType::kEthernet, LinkType::kLinuxSll, LinkType::kLinuxSll2, LinkType::kNull,
                                     LinkType::kRawIp};

TEST(CaptureWriter, PcapRoundTripsThroughLibpcapForEveryLinkType) {
  for (LinkType link : kWriterLinks) {
    SCOPED_TRACE("link " + std::to_string(static_cast<int>(link)));
    const auto frames = writerFrames(link);
    const fs::path path = tempPath("writer.pcap");
    std::string error;
    ASSERT_TRUE(writePcap(path.string(), link, frames, error)) << error;
    const ReadCapture r = readWithLibpcap(path);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.datalink, dltOf(link));
    EXPECT_EQ(r.snapshot, 262144);
    EXPECT_EQ(r.packets, expectedPackets(frames));
    // The in-memory writer gives the same file.
    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(file, pcapBytes(link, frames));
    // Microsecond pcap (magic a1b2c3d4 in the writer's byte order), and the
    // header's link type is the LINKTYPE_* value, not the platform's DLT.
    ASSERT_GE(file.size(), 24u);
    const bool little = file[0] == 0xd4;
    auto u32 = [&](size_t at) {
      return little ? uint32_t{file[at]} | uint32_t{file[at + 1]} << 8 | uint32_t{file[at + 2]} << 16 | uint32_t{file[at + 3]} << 24
                    : uint32_t{file[at + 3]} | uint32_t{file[at + 2]} << 8 | uint32_t{file[at + 1]} << 16 | uint32_t{file[at]} << 24;
    };
    EXPECT_EQ(u32(0), 0xa1b2c3d4u);
    EXPECT_EQ(u32(20), static_cast<uint32_t>(linktypeOf(link)));
    fs::remove(path);
  }
  EXPECT_EQ(linktypeOf(LinkType::kRawIp), 101);
}

TEST(CaptureWriter, PcapngReadsBackAsTheSamePacketsAsPcap) {
  for (LinkType link : kWriterLinks) {
    SCOPED_TRACE("link " + std::to_string(static_cast<int>(link)));
    const auto frames = writerFrames(link);
    const fs::path ng = tempPath("writer.pcapng"), classic = tempPath("writer-classic.pcap");
    std::string error;
    ASSERT_TRUE(writePcapng(ng.string(), link, frames, error)) << error;
    ASSERT_TRUE(writePcap(classic.string(), link, frames, error)) << error;
    const ReadCapture a = readWithLibpcap(ng), b = readWithLibpcap(classic);
    ASSERT_EQ(a.error, "");
    ASSERT_EQ(b.error, "");
    EXPECT_EQ(a.datalink, dltOf(link));
    EXPECT_EQ(a.datalink, b.datalink);
    EXPECT_EQ(a.packets, expectedPackets(frames));
    EXPECT_EQ(a.packets, b.packets);
    // The interface block stores the LINKTYPE_* value (libpcap maps it back).
    std::ifstream in(ng, std::ios::binary);
    const std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GE(file.size(), 28u + 12u);
    EXPECT_EQ(file[28 + 8] | file[28 + 9] << 8, linktypeOf(link));
    fs::remove(ng);
    fs::remove(classic);
  }
}

TEST(CaptureWriter, EmptyCapturesAndUnwritablePathsAreReported) {
  const fs::path path = tempPath("empty.pcap");
  std::string error;
  ASSERT_TRUE(writePcap(path.string(), LinkType::kLinuxSll2, {}, error)) << error;
  const ReadCapture r = readWithLibpcap(path);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.datalink, DLT_LINUX_SLL2);
  EXPECT_TRUE(r.packets.empty());
  fs::remove(path);

  const auto frames = writerFrames(LinkType::kEthernet);
  for (bool ng : {false, true}) {
    error.clear();
    const std::string bad = "/nonexistent-l7conform-dir/x.pcap";
    EXPECT_FALSE(ng ? writePcapng(bad, LinkType::kEthernet, frames, error) : writePcap(bad, LinkType::kEthernet, frames, error));
    EXPECT_NE(error.find(bad), std::string::npos) << error;
  }
  // A full device: the write is accepted by open but fails on flush.
  if (fs::exists("/dev/full")) {
    error.clear();
    EXPECT_FALSE(writePcap("/dev/full", LinkType::kEthernet, frames, error));
    EXPECT_NE(error.find("/dev/full"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace l7h
