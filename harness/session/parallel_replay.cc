// replay --threads N: one reader, N workers, one merge (replay.h, threads).
//
// The calling thread reads packets, keeps the monotonic capture clock and
// joins IP fragments (so all of a datagram's pieces meet in one place), and
// hands each TCP segment to the worker its connection hashes to (both
// directions hash alike). Every worker also gets the clock of each packet
// that went elsewhere, in packet order, so session timeouts, timeout sweeps
// and idle closes happen at the same capture times as in a single thread.
// A worker is the single-thread pipeline for its connections
// (PacketPipeline, SessionBuilder); after each batch it hands back the
// records it released, in order, with its watermark.
//
// Between hand-overs the calling thread also merges (session/shard_merge.h)
// and delivers, so the callbacks run where they would without threads. Two
// things are global in a single thread and are restored here:
//   - flow_id numbers connections in the order they opened. A worker names
//     a connection by the index of the packet that opened it; the merge
//     gives it its rank among all workers' openings. A record leaves only
//     when every worker's watermark is past its start, so every worker has
//     then handed back the openings of all packets before it.
//   - seen order breaks ties only within one four-tuple, which one worker
//     holds whole; its own count orders them as a single thread would.
#include <charconv>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "capture/packet_layers.h"
#include "session/replay_internal.h"
#include "session/shard_merge.h"

namespace l7h {
namespace {

// Packets read between hand-overs: every worker gets a batch then (its
// segments and the other packets' clock), so no worker's watermark lags;
// sooner when the payloads copied since the last reach kBatchBytes.
constexpr size_t kBatchPackets = 512;
constexpr size_t kBatchBytes = 1 << 20;
// Batches queued per worker before the reader waits for it.
constexpr size_t kQueuedBatches = 4;
// Batches between a worker's own walks for a fresh watermark (4096 packets,
// as SessionBuilder advances it every 4096 events).
constexpr uint64_t kFreshWatermarkEvery = 8;

struct InItem {
  ConnId id_if_opened = 0;  // the packet's index (from 1): the id of a connection it opens
  int64_t ts_us = 0;
  bool segment = false;     // else only the clock of a packet that went elsewhere
  TcpSegment seg;           // payload: payload_len bytes at payload_offset of the batch
  size_t payload_offset = 0;
  size_t payload_len = 0;
};

struct Batch {
  std::vector<InItem> items;
  std::vector<uint8_t> bytes;
  bool last = false;
  // Room for a whole hand-over's worth at once: growing by doubling would
  // map fresh pages and copy the bytes again at every step.
  static Batch sized() {
    Batch b;
    b.items.reserve(kBatchPackets);
    b.bytes.reserve(kBatchBytes + 64 * 1024);
    return b;
  }
};

// A released record: its JSON line, or the record itself. A worker's lines
// travel in one chunk per hand-over (no allocation per line); the merge
// keeps a worker's chunks in order and gives each back to its worker after
// its last line left (the worker's lines leave in their order), so chunks
// are reused rather than allocated on one thread and freed on another.
struct Out {
  size_t offset = 0;  // of the line in its chunk
  uint32_t size = 0;
  bool ends_chunk = false;
  std::unique_ptr<l7::Record> record;
};
using Released = std::vector<std::pair<RecordSortKey, Out>>;

// Wakes the merging thread when a worker handed something back or took a batch.
class Signal {
 public:
  void notify() {
    {
      std::lock_guard<std::mutex> lock(m_);
      ++events_;
    }
    cv_.notify_all();
  }
  uint64_t events() {
    std::lock_guard<std::mutex> lock(m_);
    return events_;
  }
  void waitPast(uint64_t seen) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait_for(lock, std::chrono::milliseconds(5), [&] { return events_ != seen; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  uint64_t events_ = 0;
};

class Worker {
 public:
  Worker(const ReplayOptions& options, bool lines, Signal& signal)
      : options_(options), lines_(lines), signal_(signal) {}

  bool tryPush(Batch& batch) {
    {
      std::lock_guard<std::mutex> lock(queue_m_);
      if (queue_.size() >= kQueuedBatches) return false;
      queue_.push_back(std::move(batch));
    }
    queue_cv_.notify_one();
    return true;
  }
  // A chunk the merge is done with, for this worker's next lines.
  void giveBack(std::unique_ptr<std::string> chunk) {
    chunk->clear();
    std::lock_guard<std::mutex> lock(queue_m_);
    if (spent_chunks_.size() < kQueuedBatches) spent_chunks_.push_back(std::move(chunk));
  }
  // An empty batch for the reader to fill: one this worker is done with
  // when there is one (its vectors keep their capacity: no allocation and
  // no fresh pages per hand-over).
  Batch emptyBatch() {
    std::lock_guard<std::mutex> lock(queue_m_);
    if (spent_.empty()) return Batch::sized();
    Batch b = std::move(spent_.back());
    spent_.pop_back();
    return b;
  }

  // What the worker handed back since the last call.
  struct Handed {
    Released released;
    std::vector<std::unique_ptr<std::string>> chunks;  // the lines of `released`, oldest first
    std::vector<ConnId> opened;
    int64_t watermark = INT64_MIN;
    bool done = false;
    ReplayStats stats;
  };
  void take(Handed& h) {
    std::lock_guard<std::mutex> lock(out_m_);
    h.released.swap(out_.released);
    out_.released.clear();
    h.chunks.swap(out_.chunks);
    out_.chunks.clear();
    h.opened.swap(out_.opened);
    out_.opened.clear();
    h.watermark = out_.watermark;
    h.done = out_.done;
    if (out_.done) h.stats = out_.stats;
  }

  void run() {
    MemoryBudget budget(options_.memory_limit_bytes);
    options_.budget = &budget;
    Released local;
    std::string chunk;
    std::vector<ConnId> opened;
    std::optional<SessionBuilder> builder;
    if (lines_) {
      builder.emplace(options_, LineCallback([&](std::string_view line) {
                        local.emplace_back(builder->releasingKey(),
                                           Out{chunk.size(), static_cast<uint32_t>(line.size()), false, nullptr});
                        chunk.append(line);
                      }),
                      &budget);
    } else {
      builder.emplace(options_, RecordCallback([&](const l7::Record& r) {
                        local.emplace_back(builder->releasingKey(), Out{0, 0, false, std::make_unique<l7::Record>(r)});
                      }),
                      &budget);
    }
    CaptureStats capture_stats;
    PacketPipeline pipeline(*builder, captureOptionsFrom(options_, &budget), capture_stats);
    builder->setWatermarkFloor([&pipeline] { return pipeline.earliestHeldTs(); });
    uint64_t relief_floor = 0;
    uint64_t batches = 0;
    for (;;) {
      Batch batch = pop();
      for (InItem& item : batch.items) {
        if (item.segment) {
          item.seg.payload = std::span<const uint8_t>(batch.bytes.data() + item.payload_offset, item.payload_len);
          const uint64_t before = capture_stats.connections;
          pipeline.onSegment(item.seg, item.id_if_opened);
          if (capture_stats.connections != before) opened.push_back(item.id_if_opened);
        } else {
          pipeline.onClock(item.ts_us);
        }
        if (budget.over() && budget.used() > relief_floor) {
          relieveMemory(budget, *builder, pipeline, item.ts_us);
          relief_floor = budget.aboveLowMark() ? budget.used() + budget.limit() / 16 : 0;
        }
      }
      if (batch.last) break;
      // A fresh watermark costs a walk over this worker's connections: every
      // few batches; between them the builder's own periodic one is handed.
      const int64_t watermark =
          ++batches % kFreshWatermarkEvery == 0 ? builder->releaseToWatermark() : builder->lastWatermark();
      hand(local, chunk, opened, watermark, nullptr);
      recycle(std::move(batch));
    }
    pipeline.finish();
    builder->finish();
    ReplayStats stats;
    fillStats(stats, capture_stats, *builder);
    stats.held_released_early = builder->heldReleasedEarly();
    stats.pending_flushed_for_memory = budget.taken(MemoryStep::kFlushPending);
    stats.tails_dropped_for_memory = budget.taken(MemoryStep::kDropTails);
    stats.tail_bytes_dropped_for_memory = budget.droppedBytes();
    stats.memory_accounted_peak = budget.peak();
    hand(local, chunk, opened, INT64_MAX, &stats);
  }

 private:
  Batch pop() {
    std::unique_lock<std::mutex> lock(queue_m_);
    queue_cv_.wait(lock, [&] { return !queue_.empty(); });
    Batch b = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    signal_.notify();  // room for the reader
    return b;
  }

  void recycle(Batch&& batch) {
    batch.items.clear();
    batch.bytes.clear();
    std::lock_guard<std::mutex> lock(queue_m_);
    // As many as can be out at once (queued, being filled, being read), so
    // the reader never starts a batch from fresh pages.
    if (spent_.size() < kQueuedBatches + 2) spent_.push_back(std::move(batch));
  }

  void hand(Released& released, std::string& chunk, std::vector<ConnId>& opened, int64_t watermark,
            const ReplayStats* final_stats) {
    std::unique_ptr<std::string> moved;
    if (!chunk.empty()) {
      released.back().second.ends_chunk = true;
      moved = std::make_unique<std::string>();
      moved->swap(chunk);
      std::lock_guard<std::mutex> lock(queue_m_);
      if (!spent_chunks_.empty()) {
        chunk.swap(*spent_chunks_.back());
        spent_chunks_.pop_back();
      }
    }
    {
      std::lock_guard<std::mutex> lock(out_m_);
      if (moved) out_.chunks.push_back(std::move(moved));
      if (out_.released.empty()) {
        out_.released.swap(released);
      } else {
        for (auto& r : released) out_.released.push_back(std::move(r));
      }
      released.clear();
      out_.opened.insert(out_.opened.end(), opened.begin(), opened.end());
      opened.clear();
      out_.watermark = watermark;
      if (final_stats != nullptr) {
        out_.done = true;
        out_.stats = *final_stats;
      }
    }
    signal_.notify();
  }

  ReplayOptions options_;  // this worker's share of the caps; SessionBuilder keeps a reference
  bool lines_;
  Signal& signal_;
  std::mutex queue_m_;
  std::condition_variable queue_cv_;
  std::deque<Batch> queue_;
  std::vector<Batch> spent_;
  std::vector<std::unique_ptr<std::string>> spent_chunks_;
  std::mutex out_m_;
  Handed out_;
};

uint64_t endpointHash(const IpAddress& ip, uint16_t port) {
  uint64_t h = 1469598103934665603ull;
  const size_t len = ip.v4 ? 4 : 16;
  for (size_t i = 0; i < len; ++i) h = (h ^ ip.bytes[i]) * 1099511628211ull;
  return (h ^ port) * 1099511628211ull;
}

// The same worker for both directions: the endpoints' hashes are summed.
size_t shardOf(const TcpSegment& s, size_t shards) {
  uint64_t h = endpointHash(s.src, s.sport) + endpointHash(s.dst, s.dport);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return static_cast<size_t>(h % shards);
}

// The calling thread's side: takes what workers handed back, merges, gives
// each record its global flow_id and delivers it.
class Merge {
 public:
  Merge(std::vector<std::unique_ptr<Worker>>& workers, ReplayDelivery delivery)
      : workers_(workers), delivery_(delivery), merge_(workers.size()), chunks_(workers.size()), opened_(workers.size()),
        done_(workers.size(), false), stats_(workers.size()) {}

  void collect() {
    for (size_t w = 0; w < workers_.size(); ++w) {
      if (done_[w]) continue;
      workers_[w]->take(handed_);
      for (auto& [key, out] : handed_.released) merge_.add(w, key, Lined{w, std::move(out)});
      for (auto& c : handed_.chunks) chunks_[w].push_back(std::move(c));
      opened_[w].insert(opened_[w].end(), handed_.opened.begin(), handed_.opened.end());
      if (handed_.done) {
        merge_.finish(w);
        done_[w] = true;
        stats_[w] = handed_.stats;
      } else {
        merge_.setWatermark(w, handed_.watermark);
      }
    }
    merge_.emit([this](Lined& l) { deliver(l.worker, l.out); });
  }
  bool allDone() const { return std::find(done_.begin(), done_.end(), false) == done_.end(); }
  uint64_t delivered() const { return delivered_; }
  uint64_t connections() const {
    uint64_t n = 0;
    for (const auto& o : opened_) n += o.size();
    return n;
  }
  const std::vector<ReplayStats>& stats() const { return stats_; }

 private:
  // The connection opened at packet `id` is the rank-th to open.
  uint64_t rank(ConnId id) const {
    uint64_t r = 0;
    for (const auto& o : opened_) r += static_cast<uint64_t>(std::upper_bound(o.begin(), o.end(), id) - o.begin());
    return r;
  }

  void deliver(size_t worker, Out& out) {
    ++delivered_;
    if (out.record) {
      out.record->flow_id = rank(out.record->flow_id);
      (*delivery_.on_record)(*out.record);
      return;
    }
    deliverLine(std::string_view(chunks_[worker].front()->data() + out.offset, out.size));
    if (out.ends_chunk) {
      workers_[worker]->giveBack(std::move(chunks_[worker].front()));
      chunks_[worker].pop_front();
    }
  }

  void deliverLine(std::string_view line) {
    // The line was written with the worker's id: its flow_id is rewritten
    // (the fourth key, ahead of every string field).
    static constexpr std::string_view kKey = "\"flow_id\":";
    const size_t at = line.find(kKey);
    if (at == std::string_view::npos) {
      (*delivery_.on_line)(line);
      return;
    }
    const size_t digits = at + kKey.size();
    size_t end = digits;
    ConnId id = 0;
    const auto parsed = std::from_chars(line.data() + digits, line.data() + line.size(), id);
    end = static_cast<size_t>(parsed.ptr - line.data());
    char number[24];
    const auto written = std::to_chars(number, number + sizeof number, rank(id));
    scratch_.assign(line.substr(0, digits));
    scratch_.append(number, written.ptr);
    scratch_.append(line.substr(end));
    (*delivery_.on_line)(scratch_);
  }

  std::vector<std::unique_ptr<Worker>>& workers_;
  ReplayDelivery delivery_;
  struct Lined {
    size_t worker;
    Out out;
  };
  ShardMerge<Lined> merge_;
  std::vector<std::deque<std::unique_ptr<std::string>>> chunks_;  // per worker, oldest first
  std::vector<std::vector<ConnId>> opened_;  // per worker, ascending
  std::vector<bool> done_;
  std::vector<ReplayStats> stats_;
  Worker::Handed handed_;
  std::string scratch_;
  uint64_t delivered_ = 0;
};

}  // namespace

ReplayResult runSharded(PcapInput& source, const ReplayOptions& options, ReplayDelivery delivery) {
  const size_t n = options.threads;
  // Each worker's share of the caps, as check --threads shares the budget.
  ReplayOptions share = options;
  share.threads = 1;
  share.budget = nullptr;
  share.progress = false;
  share.memory_limit_bytes = std::max<uint64_t>(options.memory_limit_bytes / n, uint64_t{16} << 20);
  share.max_connections = std::max<uint32_t>(options.max_connections / static_cast<uint32_t>(n), 1);
  share.max_held_records = std::max<uint32_t>(options.max_held_records / static_cast<uint32_t>(n), 1);

  Signal signal;
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>(share, delivery.on_line != nullptr, signal));
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  Merge merge(workers, delivery);

  std::vector<Batch> batches;
  for (size_t i = 0; i < n; ++i) batches.push_back(Batch::sized());
  auto handOver = [&](bool last) {
    for (size_t i = 0; i < n; ++i) {
      batches[i].last = last;
      for (;;) {
        const uint64_t seen = signal.events();
        if (workers[i]->tryPush(batches[i])) break;
        merge.collect();  // while this worker catches up
        signal.waitPast(seen);
      }
      batches[i] = workers[i]->emptyBatch();
    }
    merge.collect();
  };

  ReplayResult result;
  Progress progress(options.progress);
  LayerCounters layer_counters;
  PacketLayers layers(layer_counters, nullptr);  // fragments are bounded by its own caps
  std::vector<int64_t> last_clock(n, INT64_MIN);
  int64_t clock = INT64_MIN;
  uint64_t index = 0, bytes = 0;
  size_t batched_bytes = 0;
  RawPacket packet;
  for (;;) {
    const int got = source.next(packet);
    if (got < 0) {
      result.ok = false;
      result.error = source.error();
      break;
    }
    if (got == 0) break;
    RawPacket p = packet;
    if (p.ts_us < clock) p.ts_us = clock;  // the monotonic clock, as PacketPipeline::onPacket keeps it
    clock = p.ts_us;
    ++index;
    bytes += p.wirelen;
    TcpSegment seg;
    size_t target = n;
    if (layers.decode(p, seg) == DecodeOutcome::kTcp) {
      target = shardOf(seg, n);
      Batch& b = batches[target];
      InItem item;
      item.id_if_opened = index;
      item.ts_us = clock;
      item.segment = true;
      item.seg = seg;
      item.seg.payload = {};
      item.payload_offset = b.bytes.size();
      item.payload_len = seg.payload.size();
      b.bytes.insert(b.bytes.end(), seg.payload.begin(), seg.payload.end());
      batched_bytes += seg.payload.size();
      b.items.push_back(item);
      last_clock[target] = clock;
    }
    for (size_t i = 0; i < n; ++i) {
      if (i == target || last_clock[i] == clock) continue;
      InItem tick;
      tick.ts_us = clock;
      batches[i].items.push_back(tick);
      last_clock[i] = clock;
    }
    if (progress.due()) progress.show(index, bytes, merge.connections(), merge.delivered());
    if (index % kBatchPackets == 0 || batched_bytes >= kBatchBytes) {
      handOver(false);
      batched_bytes = 0;
    }
  }
  handOver(true);
  while (!merge.allDone()) {
    const uint64_t seen = signal.events();
    merge.collect();
    if (!merge.allDone()) signal.waitPast(seen);
  }
  for (auto& t : threads) t.join();
  merge.collect();

  ReplayStats& st = result.stats;
  uint64_t peaks = 0;
  for (const ReplayStats& s : merge.stats()) {
    st.add(s);
    peaks += s.memory_accounted_peak;
  }
  st.memory_accounted_peak = peaks;  // an upper bound: the workers' peaks need not coincide
  fillPacketStats(st, CaptureStats{.packets = index,
                                   .bytes = bytes,
                                   .non_tcp = layer_counters.non_tcp,
                                   .truncated = layer_counters.truncated,
                                   .fragments = layer_counters.fragments,
                                   .reassembled_datagrams = layer_counters.reassembled,
                                   .bad_packets = layer_counters.malformed});
  return result;
}

}  // namespace l7h
