#include "capture/tcp_flows.h"

#include <algorithm>
#include <iterator>

namespace l7h {
namespace {

constexpr int64_t kIdleSweepIntervalUs = 1'000'000;

// Signed distance a - b in 32-bit sequence space.
int32_t seqDiff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }

}  // namespace

size_t PacketPipeline::FlowKeyHash::operator()(const FlowKey& k) const noexcept {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const Endpoint& e) {
    for (uint8_t b : e.ip.bytes) h = (h ^ b) * 1099511628211ull;
    h = (h ^ e.port) * 1099511628211ull;
    h = (h ^ (e.ip.v4 ? 4u : 6u)) * 1099511628211ull;
  };
  mix(k.a);
  mix(k.b);
  return static_cast<size_t>(h);
}

PacketPipeline::PacketPipeline(StreamSink& sink, const CaptureOptions& options, CaptureStats& stats)
    : sink_(sink), options_(options), stats_(stats), layers_(layer_counters_, options.budget) {}

PacketPipeline::~PacketPipeline() = default;

void PacketPipeline::onPacket(const RawPacket& raw) {
  RawPacket packet = raw;
  if (packet.ts_us < clock_us_) {
    packet.ts_us = clock_us_;
    ++clock_corrections_;
  }
  clock_us_ = packet.ts_us;
  ++stats_.packets;
  stats_.bytes += packet.wirelen;
  TcpSegment seg;
  const DecodeOutcome outcome = layers_.decode(packet, seg);
  stats_.non_tcp = layer_counters_.non_tcp;
  stats_.bad_packets = layer_counters_.malformed;
  stats_.truncated = layer_counters_.truncated;
  stats_.fragments = layer_counters_.fragments;
  stats_.reassembled_datagrams = layer_counters_.reassembled;
  sink_.onClock(packet.ts_us);
  if (outcome == DecodeOutcome::kTcp) handleSegment(seg);
  if (packet.ts_us - last_idle_sweep_us_ >= kIdleSweepIntervalUs) expireIdle(packet.ts_us);
}

void PacketPipeline::onSegment(const TcpSegment& seg, ConnId id_if_opened) {
  clock_us_ = seg.ts_us;
  next_flow_id_ = id_if_opened;
  sink_.onClock(seg.ts_us);
  handleSegment(seg);
  if (seg.ts_us - last_idle_sweep_us_ >= kIdleSweepIntervalUs) expireIdle(seg.ts_us);
}

void PacketPipeline::onClock(int64_t now_us) {
  sink_.onClock(now_us);
  if (now_us - last_idle_sweep_us_ >= kIdleSweepIntervalUs) expireIdle(now_us);
}

PacketPipeline::Conn* PacketPipeline::openConnection(const FlowKey& key, const TcpSegment& seg, int64_t ts) {
  if (table_.size() >= options_.max_connections && !lru_.empty()) {
    ++stats_.evicted;
    closeConnection(lru_.front(), ts, true);
  }
  auto conn = std::make_unique<Conn>();
  Conn& c = *conn;
  c.info.id = next_flow_id_++;
  c.info.first_ts_us = ts;
  const Endpoint src{seg.src, seg.sport};
  const Endpoint dst{seg.dst, seg.dport};
  const bool syn = (seg.flags & tcpflag::kSyn) != 0;
  const bool ack = (seg.flags & tcpflag::kAck) != 0;
  if (syn && ack) {
    // The SYN was not captured but its answer was: the receiver is the client.
    c.info.side[0] = dst;
    c.info.side[1] = src;
    c.info.handshake_seen = true;
  } else {
    c.info.side[0] = src;
    c.info.side[1] = dst;
    c.info.handshake_seen = syn;
  }
  c.last_ts_us = ts;
  lru_.push_back(key);
  c.lru = std::prev(lru_.end());
  ++stats_.connections;
  Conn* raw = conn.get();
  table_.emplace(key, std::move(conn));
  sink_.onOpen(raw->info);
  return raw;
}

void PacketPipeline::touch(Conn& c) { lru_.splice(lru_.end(), lru_, c.lru); }

void PacketPipeline::handleSegment(const TcpSegment& seg) {
  const Endpoint src{seg.src, seg.sport};
  const Endpoint dst{seg.dst, seg.dport};
  const FlowKey key = src < dst ? FlowKey{src, dst} : FlowKey{dst, src};
  const bool syn = (seg.flags & tcpflag::kSyn) != 0;
  const bool ack = (seg.flags & tcpflag::kAck) != 0;
  const bool has_data = !seg.payload.empty() || seg.payload_missing > 0;

  auto it = table_.find(key);
  if (it != table_.end() && syn && !ack) {
    Conn& old = *it->second;
    const bool finished = old.side[0].closed && old.side[1].closed;
    const int sender = old.info.side[0] == src ? 0 : 1;
    const bool new_isn = !old.side[sender].seq_known || seg.seq + 1 != old.side[sender].next_seq;
    // A fresh SYN on a finished 4-tuple, or one with a new ISN after data,
    // starts a new connection (port reuse); a retransmitted SYN does not.
    if (finished || (new_isn && (old.side[0].next_offset > 0 || old.side[1].next_offset > 0))) {
      closeConnection(key, seg.ts_us, false);
      it = table_.end();
    }
  }
  if (it == table_.end()) {
    // Bare ACKs and FINs of connections we never saw carry nothing to decode.
    if (!syn && !has_data) return;
    openConnection(key, seg, seg.ts_us);
    it = table_.find(key);
  }
  Conn& c = *it->second;
  touch(c);
  c.last_ts_us = seg.ts_us;
  const int s = c.info.side[0] == src ? 0 : 1;
  Side& me = c.side[s];
  Side& peer = c.side[1 - s];

  if (syn) {
    if (!me.seq_known || me.next_offset == 0) {
      me.seq_known = true;
      me.next_seq = seg.seq + 1;
    }
    if (ack && !peer.seq_known) {
      peer.seq_known = true;
      peer.next_seq = seg.ack;
    }
  }
  if ((seg.flags & tcpflag::kRst) != 0) {
    closeConnection(key, seg.ts_us, false);
    return;
  }
  // The peer acknowledged bytes of its own that we never saw: they were on
  // the wire but not in the capture. Declare the hole a gap instead of
  // waiting, and deliver the peer's held bytes BEFORE this segment's data:
  // the peer sent them before this side answered (a response must not reach
  // the decoder ahead of the request it answers).
  if (ack && peer.seq_known && !peer.ahead.empty() && seqDiff(seg.ack, peer.next_seq) > 0) {
    const uint64_t acked_offset = peer.next_offset + static_cast<uint32_t>(seqDiff(seg.ack, peer.next_seq));
    const uint64_t first_ahead = peer.ahead.begin()->first;
    gapTo(c, 1 - s, std::min(acked_offset, first_ahead), seg.ts_us);
    drainAhead(c, 1 - s);
  }
  if (has_data && syn) {
    // Data on a SYN (TCP Fast Open) starts after the SYN's own sequence
    // number. Should the server not take it, the client sends it again after
    // the handshake, and that copy is a retransmission.
    TcpSegment after_syn = seg;
    after_syn.seq = seg.seq + 1;
    acceptData(c, s, after_syn);
  } else if (has_data) {
    acceptData(c, s, seg);
  }

  if ((seg.flags & tcpflag::kFin) != 0 && !me.closed) closeSide(c, s, seg.ts_us);
  if (c.side[0].closed && c.side[1].closed) closeConnection(key, seg.ts_us, false);
}

void PacketPipeline::acceptData(Conn& c, int s, const TcpSegment& seg) {
  Side& side = c.side[s];
  if (side.closed) return;
  if (!side.seq_known) {
    side.seq_known = true;
    side.next_seq = seg.seq;  // joined mid-stream
  }
  std::span<const uint8_t> data = seg.payload;
  uint32_t missing = seg.payload_missing;
  uint32_t seq = seg.seq;
  const uint64_t length = data.size() + missing;
  int32_t diff = seqDiff(seq, side.next_seq);
  if (diff < 0) {
    const uint64_t behind = static_cast<uint32_t>(-static_cast<int64_t>(diff));
    if (behind >= length) {
      stats_.retransmitted_bytes += length;
      return;
    }
    ++stats_.overlapping_segments;
    stats_.retransmitted_bytes += behind;
    const size_t trim = std::min<size_t>(behind, data.size());
    data = data.subspan(trim);
    missing -= static_cast<uint32_t>(behind - trim);
    seq += static_cast<uint32_t>(behind);
    diff = 0;
  }
  if (diff == 0) {
    // In order. Bytes already held out of order for part of this range
    // arrived first and win: deliver this segment only up to the next held
    // run, let that run go, and continue after it. The part a snap length
    // cut off becomes a gap, except where held bytes cover it.
    const uint64_t start = side.next_offset;
    const uint64_t data_end = start + data.size();
    const uint64_t seg_end = data_end + missing;
    bool overlapped = false;
    while (side.next_offset < seg_end) {
      if (!side.ahead.empty() && side.ahead.begin()->first <= side.next_offset) {
        const uint64_t before = side.next_offset;
        drainAhead(c, s);
        const uint64_t superseded = std::min(side.next_offset, data_end) - std::min(before, data_end);
        stats_.retransmitted_bytes += superseded;
        overlapped = overlapped || superseded > 0;
        continue;
      }
      const uint64_t stop = side.ahead.empty() ? seg_end : std::min(seg_end, side.ahead.begin()->first);
      if (side.next_offset < data_end) {
        const uint64_t from = side.next_offset - start;
        const uint64_t upto = std::min(stop, data_end) - start;
        deliver(c, s, side.next_offset, seq + static_cast<uint32_t>(from), seg.ts_us, data.subspan(from, upto - from));
      } else {
        gapTo(c, s, stop, seg.ts_us);
      }
    }
    if (overlapped) ++stats_.overlapping_segments;
    drainAhead(c, s);
    return;
  }
  // Ahead of a hole: hold it until the hole is filled or declared.
  ++stats_.out_of_order_segments;
  if (data.empty()) return;  // nothing captured to hold
  holdAhead(c, s, side.next_offset + static_cast<uint32_t>(diff), seq, seg.ts_us, data);
  while (c.side[0].ahead_bytes + c.side[1].ahead_bytes > options_.max_buffered_per_connection &&
         !side.ahead.empty()) {
    gapToFirstAhead(c, s, seg.ts_us);
  }
}

// Holds bytes ahead of a hole. Where runs already held cover part of the
// range, those earlier copies win: only the uncovered pieces are kept, so
// held runs never overlap each other.
void PacketPipeline::holdAhead(Conn& c, int s, uint64_t offset, uint32_t seq, int64_t ts,
                               std::span<const uint8_t> data) {
  Side& side = c.side[s];
  const uint64_t end = offset + data.size();
  uint64_t pos = offset;
  bool overlapped = false;
  while (pos < end) {
    auto next = side.ahead.upper_bound(pos);
    if (next != side.ahead.begin()) {
      const auto prev = std::prev(next);
      const uint64_t prev_end = prev->first + prev->second.first.size();
      if (prev_end > pos) {
        stats_.retransmitted_bytes += std::min(prev_end, end) - pos;
        overlapped = true;
        pos = prev_end;
        continue;
      }
    }
    const uint64_t piece_end = next == side.ahead.end() ? end : std::min(end, next->first);
    auto& held = side.ahead[pos];
    held.first.assign(data.begin() + static_cast<ptrdiff_t>(pos - offset),
                      data.begin() + static_cast<ptrdiff_t>(piece_end - offset));
    held.second = {ts, seq + static_cast<uint32_t>(pos - offset)};
    held_ts_.insert(ts);
    side.ahead_bytes += piece_end - pos + kHeldRunOverhead;
    buffered_total_ += piece_end - pos;
    accountHeld(static_cast<int64_t>(piece_end - pos + kHeldRunOverhead));
    pos = piece_end;
  }
  if (overlapped) ++stats_.overlapping_segments;
}

void PacketPipeline::deliver(Conn& c, int s, uint64_t offset, uint32_t seq, int64_t ts,
                             std::span<const uint8_t> data) {
  if (data.empty()) return;
  Side& side = c.side[s];
  sink_.onData(c.info.id, DataChunk{s, offset, seq, ts, data});
  side.next_offset += data.size();
  side.next_seq += static_cast<uint32_t>(data.size());
}

void PacketPipeline::drainAhead(Conn& c, int s) {
  Side& side = c.side[s];
  while (!side.ahead.empty()) {
    auto first = side.ahead.begin();
    if (first->first > side.next_offset) break;
    auto& [bytes, meta] = first->second;
    const uint64_t overlap = side.next_offset - first->first;
    if (overlap > 0) ++stats_.overlapping_segments;
    if (overlap < bytes.size()) {
      deliver(c, s, side.next_offset, meta.second + static_cast<uint32_t>(overlap), meta.first,
              std::span<const uint8_t>(bytes).subspan(overlap));
    } else {
      stats_.retransmitted_bytes += bytes.size();
    }
    side.ahead_bytes -= bytes.size() + kHeldRunOverhead;
    buffered_total_ -= bytes.size();
    accountHeld(-static_cast<int64_t>(bytes.size() + kHeldRunOverhead));
    held_ts_.erase(held_ts_.find(meta.first));
    side.ahead.erase(first);
  }
}

void PacketPipeline::gapTo(Conn& c, int s, uint64_t offset, int64_t ts) {
  Side& side = c.side[s];
  if (offset <= side.next_offset) return;
  const uint64_t missing = offset - side.next_offset;
  ++stats_.gaps;
  stats_.gap_bytes += missing;
  sink_.onGap(c.info.id, s, missing, ts);
  side.next_offset = offset;
  side.next_seq += static_cast<uint32_t>(missing);
}

void PacketPipeline::gapToFirstAhead(Conn& c, int s, int64_t ts) {
  Side& side = c.side[s];
  if (side.ahead.empty()) return;
  gapTo(c, s, side.ahead.begin()->first, ts);
  drainAhead(c, s);
}

void PacketPipeline::flushSide(Conn& c, int s, int64_t ts) {
  while (!c.side[s].ahead.empty()) gapToFirstAhead(c, s, ts);
}

void PacketPipeline::closeSide(Conn& c, int s, int64_t ts) {
  Side& side = c.side[s];
  if (side.closed) return;
  flushSide(c, s, ts);
  side.closed = true;
  sink_.onSideClosed(c.info.id, s, ts);
}

void PacketPipeline::closeConnection(const FlowKey& key, int64_t ts, bool /*evicted*/) {
  auto it = table_.find(key);
  if (it == table_.end()) return;
  std::unique_ptr<Conn> conn = std::move(it->second);
  table_.erase(it);
  lru_.erase(conn->lru);
  closeSide(*conn, 0, ts);
  closeSide(*conn, 1, ts);
  sink_.onClose(conn->info.id, ts);
}

void PacketPipeline::expireIdle(int64_t now) {
  last_idle_sweep_us_ = now;
  while (!lru_.empty()) {
    auto it = table_.find(lru_.front());
    if (it == table_.end() || it->second->last_ts_us + options_.idle_timeout_us >= now) break;
    ++stats_.evicted;
    closeConnection(lru_.front(), now, true);
  }
}

void PacketPipeline::accountHeld(int64_t delta) {
  if (options_.budget == nullptr) return;
  if (delta >= 0) {
    options_.budget->add(MemoryHolder::kOutOfOrder, static_cast<uint64_t>(delta));
  } else {
    options_.budget->sub(MemoryHolder::kOutOfOrder, static_cast<uint64_t>(-delta));
  }
}

void PacketPipeline::heldSides(std::vector<HeldSide>& out) {
  for (auto& [key, conn] : table_) {
    for (int s = 0; s < 2; ++s) {
      if (conn->side[s].ahead_bytes > 0) out.push_back(HeldSide{conn->side[s].ahead_bytes, conn.get(), s});
    }
  }
}

void PacketPipeline::dropHeld(const HeldSide& held, int64_t now_us) {
  flushSide(*static_cast<Conn*>(held.conn), held.side, now_us);
}

void PacketPipeline::finish() {
  std::vector<std::pair<ConnId, FlowKey>> order;
  order.reserve(table_.size());
  for (const auto& [key, conn] : table_) order.emplace_back(conn->info.id, key);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, key] : order) {
    auto it = table_.find(key);
    closeConnection(key, it->second->last_ts_us, false);
  }
}

}  // namespace l7h
