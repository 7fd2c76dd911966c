#include "session/session_builder.h"

#include <algorithm>
#include <climits>
#include <queue>

#include "l7/registry.h"

namespace l7h {
namespace {

// Bytes held per connection while its protocol is unknown. Probes decide on
// a message header, so this only matters for traffic that is not ours.
constexpr size_t kMaxHeldBytes = 64 * 1024;
// Capture time between timeout sweeps over all connections.
constexpr int64_t kSweepIntervalUs = 1'000'000;
// Events between watermark advances (each is O(open connections)).
constexpr uint64_t kWatermarkEvery = 4096;

bool hasPort(const l7::DecoderInfo& d, uint16_t port) {
  return std::find(d.default_ports.begin(), d.default_ports.end(), port) != d.default_ports.end();
}

}  // namespace

SessionBuilder::SessionBuilder(const ReplayOptions& options, RecordCallback on_record, MemoryBudget* budget)
    : options_(options), budget_(budget), output_(std::move(on_record), budget, options.max_held_records) {
  init();
}

SessionBuilder::SessionBuilder(const ReplayOptions& options, LineCallback on_line, MemoryBudget* budget)
    : options_(options), budget_(budget), output_(AsJsonLines{}, std::move(on_line), budget, options.max_held_records) {
  init();
}

void SessionBuilder::init() {
  output_.setPressureHook([this] { advanceWatermark(); });
  decoders_ = options_.decoders.empty() ? l7::allDecoders() : options_.decoders;
  if (!options_.force_protocol.empty()) {
    forced_ = l7::findDecoder(options_.force_protocol);
    for (const l7::DecoderInfo& d : decoders_) {
      if (d.key == options_.force_protocol) forced_ = &d;
    }
  }
}

SessionBuilder::~SessionBuilder() {
  for (auto& [id, st] : conns_) {
    if (budget_ != nullptr) budget_->set(MemoryHolder::kUnclassified, st.accounted, 0);
  }
}

void SessionBuilder::syncHeld(ConnState& st) {
  if (budget_ == nullptr) return;
  // Each held byte is kept twice (its chunk, and its side's joined prefix).
  const uint64_t now = 2 * st.held_bytes + st.held.size() * (sizeof(HeldChunk) + 16) +
                       st.held_side_bytes[0].capacity() + st.held_side_bytes[1].capacity() -
                       st.held_side_bytes[0].size() - st.held_side_bytes[1].size();
  budget_->set(MemoryHolder::kUnclassified, st.accounted, now);
}

void SessionBuilder::onOpen(const ConnectionInfo& info) {
  ConnState& st = conns_[info.id];
  st.info = info;
  st.last_ts_us = info.first_ts_us;
}

void SessionBuilder::onData(ConnId id, const DataChunk& chunk) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ConnState& st = it->second;
  st.last_ts_us = chunk.ts_us;
  st.saw_data = true;
  if (st.ignored) return;
  if (st.decided) {
    st.conn->data(directionOf(st, chunk.side), chunk.stream_offset, chunk.tcp_seq, chunk.ts_us, chunk.data);
  } else {
    st.held.push_back(HeldChunk{chunk.side, chunk.stream_offset, chunk.tcp_seq, chunk.ts_us,
                                std::vector<uint8_t>(chunk.data.begin(), chunk.data.end())});
    st.held_side_bytes[chunk.side].insert(st.held_side_bytes[chunk.side].end(), chunk.data.begin(), chunk.data.end());
    if (st.first_held_side < 0) st.first_held_side = chunk.side;
    st.held_bytes += chunk.data.size();
    tryDecide(st, /*force=*/st.held_bytes > kMaxHeldBytes);
    syncHeld(st);
  }
  if (++events_since_watermark_ >= kWatermarkEvery) advanceWatermark();
}

void SessionBuilder::onGap(ConnId id, int side, uint64_t missing, int64_t ts_us) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ConnState& st = it->second;
  st.last_ts_us = ts_us;
  if (st.decided && !st.ignored) {
    st.conn->gap(directionOf(st, side), missing);
    return;
  }
  // Before recognition: if what is held already tells the protocol (a probe,
  // or a well-known port), start it now, so the held bytes reach the decoder
  // before the gap (a probe may wait for more than a side sent before the
  // loss: whole messages would be lost with the bytes that did not decide).
  if (!st.held.empty() && decideIfPossible(st)) {
    if (!st.ignored) st.conn->gap(directionOf(st, side), missing);
    syncHeld(st);
    return;
  }
  // Otherwise the held bytes of that side no longer lead anywhere: drop
  // them; the decoder starts with a gap anyway unless the handshake was
  // seen, and then this side is mid-stream too.
  st.held.erase(std::remove_if(st.held.begin(), st.held.end(), [&](const HeldChunk& c) { return c.side == side; }),
                st.held.end());
  st.held_bytes -= st.held_side_bytes[side].size();
  st.held_side_bytes[side].clear();
  if (st.first_held_side == side) st.first_held_side = st.held.empty() ? -1 : st.held.front().side;
  st.info.handshake_seen = false;
  syncHeld(st);
}

void SessionBuilder::onSideClosed(ConnId id, int side, int64_t ts_us) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ConnState& st = it->second;
  st.last_ts_us = ts_us;
  st.side_closed[side] = true;
  if (!st.decided) tryDecide(st, /*force=*/true);
  if (st.decided && !st.ignored) st.conn->endOfStream(directionOf(st, side));
  syncHeld(st);
}

void SessionBuilder::onClose(ConnId id, int64_t ts_us) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ConnState& st = it->second;
  st.last_ts_us = ts_us;
  if (!st.decided && st.saw_data) tryDecide(st, /*force=*/true);
  if (st.decided && !st.ignored) {
    // Requests whose timeout the capture clock has passed since the last
    // sweep are timeouts, not merely unanswered at the end.
    st.conn->expire(std::max(clock_us_, ts_us));
    st.conn->close();
  }
  // A connection that never carried a byte (a port scan, a refused SYN) has
  // no protocol to recognize: it is not "unclassified".
  if ((!st.decided || st.ignored) && st.saw_data) ++unclassified_;
  dropHeld(st);
  syncHeld(st);
  conns_.erase(it);
}

void SessionBuilder::onClock(int64_t ts_us) {
  clock_us_ = std::max(clock_us_, ts_us);
  if (clock_us_ - last_sweep_us_ >= kSweepIntervalUs) {
    last_sweep_us_ = clock_us_;
    for (auto& [id, st] : conns_) {
      if (st.decided && !st.ignored) st.conn->expire(clock_us_);
    }
    advanceWatermark();
  }
}

void SessionBuilder::tryDecide(ConnState& st, bool force) {
  if (st.held.empty() && !force) return;
  bool need_more = false;
  if (decideByProbes(st, need_more)) return;
  if (need_more && !force) return;
  if (decideByPort(st)) return;
  st.decided = true;
  st.ignored = true;
  dropHeld(st);
}

bool SessionBuilder::decideIfPossible(ConnState& st) {
  bool need_more = false;
  return decideByProbes(st, need_more) || decideByPort(st);
}

bool SessionBuilder::decideByProbes(ConnState& st, bool& need_more) {
  // The side that spoke first is asked first (as when chunks were probed in
  // arrival order), then the other.
  if (st.first_held_side < 0) return false;
  for (int side : {st.first_held_side, 1 - st.first_held_side}) {
    if (st.held_side_bytes[side].empty()) continue;
    bool side_needs_more = false;
    // A forced protocol still asks its own probe which side is the client.
    if (decideByProbe(st, side, side_needs_more)) return true;
    need_more = need_more || side_needs_more;
  }
  return false;
}

void SessionBuilder::dropHeld(ConnState& st) {
  // Their memory too, not only their contents: the budget counts capacity.
  // (`v = {}` would keep the capacity: it assigns an empty list.)
  std::vector<HeldChunk>().swap(st.held);
  std::vector<uint8_t>().swap(st.held_side_bytes[0]);
  std::vector<uint8_t>().swap(st.held_side_bytes[1]);
  st.first_held_side = -1;
  st.held_bytes = 0;
}

bool SessionBuilder::decideByProbe(ConnState& st, int probed_side, bool& need_more) {
  // Probe on everything held for this side, so a header split across
  // packets is still recognized.
  const std::vector<uint8_t>& side_bytes = st.held_side_bytes[probed_side];
  const std::span<const l7::DecoderInfo> candidates =
      forced_ != nullptr ? std::span<const l7::DecoderInfo>(forced_, 1) : decoders_;
  for (const l7::DecoderInfo& d : candidates) {
    const l7::ProbeVerdict v = d.probe(l7::Bytes(side_bytes));
    if (v == l7::ProbeVerdict::kNeedMore) {
      need_more = true;
      continue;
    }
    if (v == l7::ProbeVerdict::kNo) continue;
    const bool serves0 = hasPort(d, st.info.side[0].port);
    const bool serves1 = hasPort(d, st.info.side[1].port);
    const int port_client_side = serves0 == serves1 ? -1 : (serves0 ? 1 : 0);
    if (v == l7::ProbeVerdict::kEitherSide) {
      // Both sides open alike: the SYN sender is the client, else the side
      // not on the well-known port, else whoever spoke first.
      st.aligned_side = probed_side;
      if (st.info.handshake_seen) {
        start(st, &d, 0, ClientRule::kHandshake);
      } else if (port_client_side >= 0) {
        start(st, &d, port_client_side, ClientRule::kPort);
      } else {
        start(st, &d, st.first_held_side < 0 ? probed_side : st.first_held_side, ClientRule::kFirstSpeaker);
      }
      return true;
    }
    int sender_is_client_side = v == l7::ProbeVerdict::kFromClient ? probed_side : 1 - probed_side;
    // With a handshake the client is known; a probe that disagrees is not
    // this protocol (or not a message start), so keep looking.
    if (st.info.handshake_seen && sender_is_client_side != 0) continue;
    // Joined mid-stream, a probe can mistake one side for the other where
    // the protocol's answers can look like its requests (a Kafka response
    // with a small correlation id reads as a Produce request header). When
    // exactly one side is on the protocol's well-known port, that side
    // serves, as Wireshark's dissectors assume; the bytes the probe looked
    // at are then not what it took them for, so no side counts as aligned.
    ClientRule rule = st.info.handshake_seen ? ClientRule::kHandshake : ClientRule::kProbe;
    if (!st.info.handshake_seen && port_client_side >= 0 && port_client_side != sender_is_client_side) {
      sender_is_client_side = port_client_side;
      st.aligned_side = -1;
      rule = ClientRule::kPort;
    } else {
      // The probe saw a message start at the first byte of this side: the
      // decoder need not resynchronize there even if the capture joined late.
      st.aligned_side = probed_side;
    }
    start(st, &d, sender_is_client_side, rule);
    return true;
  }
  return false;
}

bool SessionBuilder::decideByPort(ConnState& st) {
  const uint16_t port0 = st.info.side[0].port;
  const uint16_t port1 = st.info.side[1].port;
  if (forced_ != nullptr) {
    int client = 0;
    if (!st.info.handshake_seen) {
      // The side on a well-known port of the forced protocol, else the lower port, serves.
      if (hasPort(*forced_, port0)) client = 1;
      else if (hasPort(*forced_, port1)) client = 0;
      else client = port0 < port1 ? 1 : 0;
    }
    start(st, forced_, client, st.info.handshake_seen ? ClientRule::kHandshake : ClientRule::kPort);
    return true;
  }
  for (const l7::DecoderInfo& d : decoders_) {
    const bool serves0 = hasPort(d, port0);
    const bool serves1 = hasPort(d, port1);
    if (!serves0 && !serves1) continue;
    int client;
    if (st.info.handshake_seen) {
      if (!serves1) continue;  // the SYN receiver must be the server
      client = 0;
    } else {
      client = serves1 ? 0 : 1;
    }
    start(st, &d, client, st.info.handshake_seen ? ClientRule::kHandshake : ClientRule::kPort);
    return true;
  }
  return false;
}

void SessionBuilder::start(ConnState& st, const l7::DecoderInfo* decoder, int client_side, ClientRule rule) {
  st.decided = true;
  st.client_side = client_side;
  FlowColumns flow;
  flow.flow_id = st.info.id;
  flow.client = st.info.side[client_side];
  flow.server = st.info.side[1 - client_side];
  flow.decoder = decoder;
  flow.client_rule = rule;
  ConnectionCounters& counters = per_protocol_[decoder];
  if (rule == ClientRule::kPort) ++counters.client_by_port;
  if (rule == ClientRule::kFirstSpeaker) ++counters.client_by_first_speaker;
  flow.client_ip_text = flow.client.ip.toString();
  flow.server_ip_text = flow.server.ip.toString();
  ConnectionOutput out{&output_, &seen_counter_, &counters, budget_};
  st.conn = std::make_unique<Connection>(flow, options_, out);
  if (!st.info.handshake_seen) {
    // Joined mid-stream: the decoder must resynchronize, except on a side
    // whose first bytes the probe recognized as a message start.
    for (int side = 0; side < 2; ++side) {
      if (side != st.aligned_side) st.conn->gap(directionOf(st, side), 0);
    }
  }
  std::vector<HeldChunk> held = std::move(st.held);
  dropHeld(st);
  for (const HeldChunk& chunk : held) deliver(st, chunk);
  for (int side = 0; side < 2; ++side) {
    if (st.side_closed[side]) st.conn->endOfStream(directionOf(st, side));
  }
}

void SessionBuilder::deliver(ConnState& st, const HeldChunk& chunk) {
  st.conn->data(directionOf(st, chunk.side), chunk.stream_offset, chunk.tcp_seq, chunk.ts_us,
                l7::Bytes(chunk.bytes));
}

int64_t SessionBuilder::advanceWatermark() {
  events_since_watermark_ = 0;
  int64_t watermark = clock_us_;
  if (watermark_floor_) watermark = std::min(watermark, watermark_floor_());
  for (const auto& [id, st] : conns_) {
    if (!st.decided) {
      for (const HeldChunk& c : st.held) watermark = std::min(watermark, c.ts_us);
    } else if (!st.ignored) {
      watermark = std::min(watermark, st.conn->earliestOpenStart());
    }
  }
  output_.releaseBefore(watermark);
  last_watermark_ = std::max(last_watermark_, watermark);
  return watermark;
}

void SessionBuilder::finish() {
  // Close in flow_id order so the seen-order tie-breaker is deterministic.
  std::vector<ConnId> ids;
  ids.reserve(conns_.size());
  for (const auto& [id, st] : conns_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (ConnId id : ids) onClose(id, clock_us_);
  output_.releaseAll();
}

uint64_t SessionBuilder::flushOldestPending(MemoryBudget& budget) {
  // The connection whose first pending request is oldest goes first; it
  // is put back with its next one (requests enter in about start order, so
  // the first entry stands for the connection without a scan of them all).
  using Entry = std::pair<int64_t, Connection*>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> oldest;
  for (auto& [id, st] : conns_) {
    if (st.conn && st.conn->holdsPendingOrOrphans()) oldest.emplace(st.conn->firstPendingStart(), st.conn.get());
  }
  uint64_t flushed = 0;
  while (!oldest.empty() && budget.aboveLowMark()) {
    Connection* c = oldest.top().second;
    oldest.pop();
    if (!c->flushOldestPending()) continue;
    ++flushed;
    if (c->holdsPendingOrOrphans()) oldest.emplace(c->firstPendingStart(), c);
    // The flushed records go to ordering: release them as they come, so
    // flushing does not trade small pending entries for large held records.
    if ((flushed & 255) == 0) output_.releaseAllEarly();
  }
  output_.releaseAllEarly();
  return flushed;
}

void SessionBuilder::heldTails(std::vector<HeldTail>& out) {
  for (auto& [id, st] : conns_) {
    if (st.conn) {
      l7::Direction dir;
      const size_t bytes = st.conn->largestTail(dir);
      Connection* c = st.conn.get();
      if (bytes > 0) out.push_back(HeldTail{bytes, [c, dir] { c->dropTail(dir); }});
    } else if (st.accounted > 0) {
      const ConnId conn_id = id;
      const int64_t ts = st.last_ts_us;
      out.push_back(HeldTail{st.accounted, [this, conn_id, ts] {
                               onGap(conn_id, 0, 0, ts);
                               onGap(conn_id, 1, 0, ts);
                             }});
    }
  }
}

ConnectionCounters SessionBuilder::counters() const {
  ConnectionCounters sum;
  for (const auto& [d, c] : per_protocol_) {
    sum.messages += c.messages;
    sum.parse_failures += c.parse_failures;
    sum.records += c.records;
    sum.timeouts += c.timeouts;
    sum.pending_evicted += c.pending_evicted;
    sum.contract_violations += c.contract_violations;
    sum.skipped_bytes += c.skipped_bytes;
    sum.client_by_port += c.client_by_port;
    sum.client_by_first_speaker += c.client_by_first_speaker;
    sum.decompression_budget_hits += c.decompression_budget_hits;
  }
  return sum;
}

std::vector<std::pair<std::string, uint64_t>> SessionBuilder::messagesPerProtocol() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [d, c] : per_protocol_) out.emplace_back(std::string(d->name), c.messages);
  std::sort(out.begin(), out.end());
  return out;
}

size_t SessionBuilder::bufferedBytes() const {
  size_t total = 0;
  for (const auto& [id, st] : conns_) {
    total += st.held_bytes;
    if (st.conn) total += st.conn->bufferedBytes();
  }
  return total;
}

}  // namespace l7h
