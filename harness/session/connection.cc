#include "session/connection.h"

#include <algorithm>
#include <climits>

namespace l7h {

Connection::Connection(const FlowColumns& flow, const ReplayOptions& options, ConnectionOutput out)
    : flow_(flow), options_(options), out_(out), decoder_(flow.decoder->create(options.limits)) {}

namespace {

// Tells the budget what a connection holds when an entry point returns,
// whichever way it returns.
struct SyncOnReturn {
  Connection& c;
  ~SyncOnReturn() { c.syncBudget(); }
};

}  // namespace

Connection::~Connection() {
  if (out_.budget == nullptr) return;
  out_.budget->set(MemoryHolder::kTails, accounted_tails_, 0);
  out_.budget->set(MemoryHolder::kPending, accounted_pending_, 0);
}

void Connection::data(l7::Direction dir, uint64_t stream_offset, uint32_t tcp_seq, int64_t ts_us,
                      l7::Bytes bytes) {
  const SyncOnReturn sync{*this};
  Side& s = side(dir);
  if (s.ended || bytes.empty()) return;
  if (!s.started || s.tail.empty()) {
    s.started = true;
    s.tail_offset = stream_offset;
  } else if (stream_offset != s.tail_offset + s.tail.size()) {
    // The stream layer promises contiguous delivery; anything else is a
    // hole it did not announce. Treat it as one rather than mis-splice.
    gap(dir, 0);
    s.tail_offset = stream_offset;
  }
  // Drop the part of an oversized frame the decoder chose to pass over.
  if (s.skip > 0) {
    const uint64_t drop = std::min<uint64_t>(s.skip, bytes.size());
    s.skip -= drop;
    out_.counters->skipped_bytes += drop;
    bytes = bytes.subspan(drop);
    stream_offset += drop;
    tcp_seq += static_cast<uint32_t>(drop);
    s.tail_offset = stream_offset;
    if (bytes.empty()) return;
  }
  // Marks ascend in stream offset but not always in time: bytes the TCP
  // layer held out of order arrive after the segment that filled the hole,
  // with their older time.
  if (s.marks.empty()) {
    s.marks_out_of_time_order = false;
  } else if (ts_us < s.marks[s.marks.size() - 1].ts_us) {
    s.marks_out_of_time_order = true;
  }
  s.marks.push_back(Mark{stream_offset, tcp_seq, ts_us});

  if (s.tail.empty()) {
    feedSide(dir, bytes, /*from_tail=*/false);
    return;
  }
  s.tail.append(bytes);
  if (s.needed == 0 || s.tail.size() >= s.needed) feedSide(dir, s.tail.view(), /*from_tail=*/true);
}

void Connection::feedSide(l7::Direction dir, l7::Bytes view, bool from_tail) {
  Side& s = side(dir);
  s.feeding = true;
  const uint8_t* const origin = view.data();
  l7::Bytes rest = view;
  bool woke_idle = false;
  // A decoder decodes every whole message it is given in one call; the loop
  // only re-feeds when it consumed something and stopped early, or once
  // after it woke its peer without progress (what it waited for may be
  // decoded now), and is bounded so a decoder that makes no progress
  // cannot spin.
  for (int round = 0; round < 64 && !rest.empty(); ++round) {
    const l7::FeedResult r = decoder_->feed(dir, rest, s.tail_offset, *this);
    if (r.consumed > rest.size()) {
      ++out_.counters->contract_violations;
      s.tail.clear();
      s.needed = 0;
      s.marks.clear();
      s.holds_from = l7::kHoldsNothing;
      s.feeding = false;
      decoder_->onGap(dir, {}, s.tail_offset, *this);
      return;
    }
    const size_t remaining = rest.size() - r.consumed;
    const uint64_t skip_now = std::min<uint64_t>(r.skip, remaining);
    s.tail_offset += r.consumed + skip_now;
    s.skip = r.skip - skip_now;
    out_.counters->skipped_bytes += skip_now;
    s.needed = r.needed;
    s.holds_from = r.holds_from;
    rest = rest.subspan(r.consumed + skip_now);
    const bool progressed = r.consumed > 0 || skip_now > 0;
    if (r.wake_peer) {
      wakePeer(dir);
      if (!progressed) {
        if (woke_idle) break;
        woke_idle = true;
        continue;
      }
    }
    if (!progressed || s.needed > rest.size()) break;
  }
  s.feeding = false;
  // Keep the unconsumed remainder (a copy only if it is not already the tail).
  if (from_tail) {
    s.tail.consume(static_cast<size_t>(rest.data() - origin));
  } else {
    s.tail.assign(rest);
  }
  if (s.tail.size() > options_.limits.max_buffered_bytes) {
    // The decoder let its tail grow past the cap: drop it as a gap so memory
    // stays bounded, and let the decoder resynchronize.
    ++out_.counters->contract_violations;
    s.tail_offset += s.tail.size();
    s.tail.release();
    s.needed = 0;
    s.holds_from = l7::kHoldsNothing;
    decoder_->onGap(dir, {}, s.tail_offset, *this);
  }
  pruneMarks(s);
  if (!orphans_.empty()) releaseOrphans(/*all=*/false);
}

void Connection::wakePeer(l7::Direction dir) {
  // A side already being fed (the one that woke this one) is not fed again
  // from inside: its own loop goes on when this returns.
  Side& peer = side(l7::reverse(dir));
  if (peer.feeding || peer.ended || peer.tail.empty()) return;
  // Even if shorter than the peer asked for: what it waited for was state.
  feedSide(l7::reverse(dir), peer.tail.view(), /*from_tail=*/true);
}

void Connection::pruneMarks(Side& s) {
  // Marks are kept from the one that places the oldest byte still wanted:
  // the tail's first, or the first of a message the decoder holds open.
  const uint64_t keep_from = std::min(s.tail_offset, s.holds_from);
  while (s.marks.size() >= 2 && s.marks[1].stream_offset <= keep_from) s.marks.pop_front();
  if (s.tail.empty() && s.holds_from == l7::kHoldsNothing && s.marks.size() == 1 &&
      s.marks.front().stream_offset < s.tail_offset && s.skip == 0) {
    // Nothing buffered: the mark is only needed again for bytes that carry a
    // new mark of their own.
    s.marks.clear();
  }
}

void Connection::gap(l7::Direction dir, uint64_t missing) {
  const SyncOnReturn sync{*this};
  Side& s = side(dir);
  if (s.ended) return;
  if (missing > 0 && s.tail.empty() && s.skip >= missing) {
    // The hole falls inside a frame the decoder is skipping anyway.
    s.skip -= missing;
    s.tail_offset += missing;
    return;
  }
  decoder_->onGap(dir, s.tail.view(), s.tail_offset, *this);
  s.tail_offset += s.tail.size() + missing;
  s.tail.release();
  s.needed = 0;
  s.skip = 0;
  s.holds_from = l7::kHoldsNothing;
  s.marks.clear();
  if (!orphans_.empty()) releaseOrphans(/*all=*/false);
}

void Connection::endOfStream(l7::Direction dir) {
  const SyncOnReturn sync{*this};
  Side& s = side(dir);
  if (s.ended) return;
  decoder_->onEof(dir, s.tail.view(), s.tail_offset, *this);
  s.tail_offset += s.tail.size();
  s.tail.release();
  s.holds_from = l7::kHoldsNothing;
  s.marks.clear();
  s.ended = true;
  if (!orphans_.empty()) releaseOrphans(/*all=*/false);
}

MessagePlacement Connection::place(l7::Direction dir, uint64_t stream_offset) const {
  const Side& s = sides_[static_cast<int>(dir)];
  MessagePlacement p;
  p.direction = dir;
  if (s.marks.empty()) return p;
  // The packet that carried the message's first byte: the last mark at or
  // before it (marks ascend; a long held tail has one per packet, so a
  // binary search, not a scan).
  auto after = std::upper_bound(s.marks.begin(), s.marks.end(), stream_offset,
                                [](uint64_t v, const Mark& mark) { return v < mark.stream_offset; });
  const Mark* m = after == s.marks.begin() ? &s.marks.front() : &*std::prev(after);
  p.ts_us = m->ts_us;
  p.tcp_seq = m->tcp_seq + static_cast<uint32_t>(stream_offset - std::min(stream_offset, m->stream_offset));
  return p;
}

RecordSortKey Connection::sortKeyFor(int64_t start_us) {
  return RecordSortKey{start_us, flow_.client, flow_.server, ++*out_.seen_counter};
}

void Connection::emit(RecordSortKey key, l7::Record&& record) {
  ++out_.counters->records;
  record.seen_order = key.seen_order;
  out_.output->push(key, std::move(record));
}

void Connection::onMessage(l7::Direction dir, l7::Message&& msg) {
  ++out_.counters->messages;
  if (msg.fields.response_status == l7::ResponseStatus::kParseFailed) ++out_.counters->parse_failures;
  const MessagePlacement where = place(dir, msg.pos);
  const l7::MessageKind kind = msg.kind;
  const l7::PairKey key = msg.key;
  if (kind == l7::MessageKind::kRequest) {
    const uint64_t order = ++*out_.seen_counter;
    if (!orphans_.empty()) {
      const size_t orphan = findOrphan(dir, key, where.ts_us);
      if (orphan < orphans_.size()) {
        l7::Record request = recordFromMessage(flow_, where, std::move(msg));
        pending_cost_ -= recordFootprint(orphans_[orphan].record);
        merge(request, std::move(orphans_[orphan].record));
        orphans_.erase(orphans_.begin() + static_cast<std::ptrdiff_t>(orphan));
        emit(RecordSortKey{where.ts_us, flow_.client, flow_.server, order}, std::move(request));
        return;
      }
    }
    // Built inside its map node, its fields packed: the record is made
    // only when the request leaves.
    Pending& pending = pending_.try_emplace(order).first->second;
    pending.key = key;
    pending.context = msg.context;
    pending.start_us = where.ts_us;
    pending.tcp_seq = where.tcp_seq;
    pending.wire_size = msg.wire_size;
    pending.dir = dir;
    pending.fields.pack(msg.fields);
    pending_cost_ += pendingCost(pending);
    auto [queue, fresh] = by_key_.try_emplace(key, KeyQueue{order, order});
    if (!fresh) {
      pending_.find(queue->second.last)->second.next_same_key = order;
      queue->second.last = order;
    }
    if (pending_.size() > options_.max_pending_per_connection) {
      ++out_.counters->pending_evicted;
      flushPending(pending_.begin()->first, l7::ResponseStatus::kUnknown, /*use_override=*/false);
    }
    return;
  }
  l7::Record record = recordFromMessage(flow_, where, std::move(msg));
  if (kind == l7::MessageKind::kOneWay) {
    emit(sortKeyFor(record.start_time_us), std::move(record));
    return;
  }
  // A response: complete the oldest request waiting under the same key.
  for (auto waiting = by_key_.find(key); waiting != by_key_.end(); waiting = by_key_.find(key)) {
    const uint64_t order = waiting->second.first;
    auto it = pending_.find(order);
    if (it == pending_.end()) {  // not expected: orders leave their key's queue with their entry
      by_key_.erase(waiting);
      break;
    }
    // The oldest request with this key began after this answer, so it is
    // not what is answered (a decoder may give a response after requests
    // that came later: one it held while the other side resynchronized,
    // whose request was before the capture): the answer stands alone, and
    // the request keeps waiting.
    if (it->second.start_us > where.ts_us) break;
    if (expiredAt(it->second, where.ts_us)) {
      // The session timeout passed before this answer came (the periodic
      // sweep had not run yet): the request timed out, the answer stands alone.
      ++out_.counters->timeouts;
      flushPending(order, l7::ResponseStatus::kTimeout, /*use_override=*/true);
      continue;
    }
    unlinkFromKey(key, order, it->second.next_same_key);
    auto done = pending_.extract(it);
    pending_cost_ -= pendingCost(done.mapped());
    l7::Record request = buildRecord(done.mapped());
    merge(request, std::move(record));
    emit(sortKeyOf(order, done.mapped()), std::move(request));
    return;
  }
  if (mayAnswerHeldRequest(dir, record.start_time_us) && orphans_.size() < kMaxOrphans) {
    pending_cost_ += recordFootprint(record);
    orphans_.push_back(Orphan{dir, key, std::move(record)});
    return;
  }
  emit(sortKeyFor(record.start_time_us), std::move(record));
}

// The other direction holds bytes that came no later than this response:
// its request may be among them, still undecoded.
bool Connection::mayAnswerHeldRequest(l7::Direction response_dir, int64_t response_ts) const {
  const Side& other = sides_[static_cast<int>(l7::reverse(response_dir))];
  return !other.ended && !other.tail.empty() && !other.marks.empty() && other.marks.front().ts_us <= response_ts;
}

// A request decoded after its response (held on the other side while that
// response was decoded): the first waiting response with its key that came
// no earlier completes it.
size_t Connection::findOrphan(l7::Direction request_dir, const l7::PairKey& key, int64_t request_start) const {
  for (size_t i = 0; i < orphans_.size(); ++i) {
    const Orphan& o = orphans_[i];
    if (o.dir == request_dir || !(o.key == key) || o.record.start_time_us < request_start) continue;
    if (request_start + options_.session_timeout_us < o.record.start_time_us) continue;
    return i;
  }
  return orphans_.size();
}

// Responses whose other side no longer holds anything older go out alone
// (all of them at the end of the connection).
void Connection::releaseOrphans(bool all) {
  for (auto it = orphans_.begin(); it != orphans_.end();) {
    if (!all && mayAnswerHeldRequest(it->dir, it->record.start_time_us)) {
      ++it;
      continue;
    }
    pending_cost_ -= recordFootprint(it->record);
    emit(sortKeyFor(it->record.start_time_us), std::move(it->record));
    it = orphans_.erase(it);
  }
}

void Connection::flushPending(uint64_t order, l7::ResponseStatus override_status, bool use_override) {
  auto it = pending_.find(order);
  if (it == pending_.end()) return;
  auto node = pending_.extract(it);
  Pending& p = node.mapped();
  pending_cost_ -= pendingCost(p);
  unlinkFromKey(p.key, order, p.next_same_key);
  l7::Record record = buildRecord(p);
  if (use_override) record.f.response_status = override_status;
  emit(sortKeyOf(order, p), std::move(record));
}

void Connection::unlinkFromKey(const l7::PairKey& key, uint64_t order, uint64_t next) {
  auto k = by_key_.find(key);
  if (k == by_key_.end()) return;
  KeyQueue& q = k->second;
  // Answers, evictions and timeouts take the oldest request, the front of
  // its key's queue; anything else walks the queue.
  if (q.first == order) {
    if (next == 0) {
      by_key_.erase(k);
    } else {
      q.first = next;
    }
    return;
  }
  for (uint64_t at = q.first; at != 0;) {
    auto it = pending_.find(at);
    if (it == pending_.end()) return;
    if (it->second.next_same_key == order) {
      it->second.next_same_key = next;
      if (q.last == order) q.last = at;
      return;
    }
    at = it->second.next_same_key;
  }
}

l7::Record Connection::buildRecord(Pending& p) const {
  l7::Message msg;
  msg.kind = l7::MessageKind::kRequest;
  msg.key = p.key;
  msg.wire_size = p.wire_size;
  msg.context = p.context;
  l7::Record r;
  recordFromMessage(flow_, MessagePlacement{p.dir, p.start_us, p.tcp_seq}, std::move(msg), r);
  p.fields.unpack(r.f);  // into the record's own fields: no move of a whole L7Fields
  return r;
}

void Connection::merge(l7::Record& request, l7::Record&& response) const {
  if (flow_.decoder != nullptr && flow_.decoder->merge != nullptr) {
    flow_.decoder->merge(request, std::move(response));
  } else {
    mergeResponse(request, std::move(response));
  }
}

void Connection::onCapHit(l7::CapHit hit) {
  if (hit == l7::CapHit::kDecompressionBudget) ++out_.counters->decompression_budget_hits;
}

std::optional<uint64_t> Connection::pendingContext(const l7::PairKey& key) const {
  const auto waiting = by_key_.find(key);
  if (waiting == by_key_.end()) return std::nullopt;
  const auto it = pending_.find(waiting->second.first);
  if (it == pending_.end()) return std::nullopt;
  return it->second.context;
}

bool Connection::expiredAt(const Pending& p, int64_t now_us) const {
  return p.start_us + options_.session_timeout_us < now_us;
}

void Connection::expire(int64_t now_us) {
  const SyncOnReturn sync{*this};
  std::vector<uint64_t> expired;
  for (const auto& [order, p] : pending_) {
    if (expiredAt(p, now_us)) expired.push_back(order);
  }
  for (uint64_t order : expired) {
    ++out_.counters->timeouts;
    flushPending(order, l7::ResponseStatus::kTimeout, /*use_override=*/true);
  }
}

void Connection::close() {
  const SyncOnReturn sync{*this};
  endOfStream(l7::Direction::kToServer);
  endOfStream(l7::Direction::kToClient);
  releaseOrphans(/*all=*/true);
  while (!pending_.empty()) {
    flushPending(pending_.begin()->first, l7::ResponseStatus::kUnknown, /*use_override=*/false);
  }
}

int64_t Connection::oldestPendingStart() const {
  // Seen order is not start order (a decoder may give a request held
  // behind a resynchronization late), so every entry is looked at.
  int64_t earliest = INT64_MAX;
  for (const auto& [order, p] : pending_) earliest = std::min(earliest, p.start_us);
  return earliest;
}

int64_t Connection::firstPendingStart() const {
  if (!pending_.empty()) return pending_.begin()->second.start_us;
  if (!orphans_.empty()) return orphans_.front().record.start_time_us;
  return INT64_MAX;
}

bool Connection::flushOldestPending() {
  if (!pending_.empty()) {
    flushPending(pending_.begin()->first, l7::ResponseStatus::kUnknown, /*use_override=*/true);
  } else if (!orphans_.empty()) {
    releaseOrphans(/*all=*/true);
  } else {
    return false;
  }
  syncBudget();
  return true;
}

size_t Connection::largestTail(l7::Direction& dir) const {
  const size_t to_server = sides_[0].tail.size();
  const size_t to_client = sides_[1].tail.size();
  dir = to_server >= to_client ? l7::Direction::kToServer : l7::Direction::kToClient;
  return std::max(to_server, to_client);
}

void Connection::dropTail(l7::Direction dir) {
  gap(dir, 0);
}

void Connection::syncBudget() {
  if (out_.budget == nullptr) return;
  uint64_t tails = 0;
  for (const Side& s : sides_) tails += s.tail.capacity() + s.marks.capacity() * sizeof(Mark);
  out_.budget->set(MemoryHolder::kTails, accounted_tails_, tails);
  out_.budget->set(MemoryHolder::kPending, accounted_pending_, pending_cost_);
}

int64_t Connection::earliestOpenStart() const {
  int64_t earliest = INT64_MAX;
  earliest = std::min(earliest, oldestPendingStart());
  for (const Orphan& o : orphans_) earliest = std::min(earliest, o.record.start_time_us);
  for (const Side& s : sides_) {
    const bool holds = !s.tail.empty() || s.holds_from != l7::kHoldsNothing;
    if (!holds || s.marks.empty()) continue;
    if (s.marks_out_of_time_order) {
      // A held message may start at any of them (a hole filled later than
      // the bytes after it came): the earliest of all, not the first.
      for (const Mark& m : s.marks) earliest = std::min(earliest, m.ts_us);
    } else {
      earliest = std::min(earliest, s.marks.front().ts_us);
    }
  }
  return earliest;
}

size_t Connection::bufferedBytes() const { return sides_[0].tail.size() + sides_[1].tail.size(); }

}  // namespace l7h
