#include "l7/resync.h"

#include <algorithm>

namespace l7 {

void Resync::start() {
  active_ = true;
  passed_over_ = false;
  scanned_ = 0;
  seen_size_ = 0;
  due_ = UINT64_MAX;
  open_.clear();
}

void Resync::stop() {
  start();
  active_ = false;
  open_.shrink_to_fit();
}

Resync::Judged Resync::judge(const FrameGrammar& grammar, Bytes data, bool at_end, Open& e) const {
  while (e.frames < rules_.confirm_frames && e.chain_end < data.size()) {
    const FrameGuess g = grammar.guess(data, e.chain_end);
    if (g.verdict == FrameGuess::kNo) return Judged::kFailed;
    if (g.verdict == FrameGuess::kNeedMore) {
      if (at_end) return Judged::kFailed;
      e.need = std::max<uint64_t>(e.chain_end + g.need, data.size() + 1);
      return e.need - e.at > rules_.max_hold_bytes ? Judged::kFailed : Judged::kOpen;
    }
    if (g.size == 0) return Judged::kFailed;
    const uint64_t end = e.chain_end + g.size;
    if (g.sure) {
      if (end <= data.size()) {
        e.chain_end = static_cast<size_t>(end);
        ++e.frames;
      }
      return Judged::kConfirmed;
    }
    if (end > data.size()) {
      if (at_end || end - e.at > rules_.max_hold_bytes) return Judged::kFailed;
      e.need = end;
      return Judged::kOpen;
    }
    e.chain_end = static_cast<size_t>(end);
    ++e.frames;
  }
  if (e.frames >= rules_.confirm_frames) return Judged::kConfirmed;
  // The chain ends exactly where the data does.
  if (at_end) return e.frames > 0 ? Judged::kConfirmed : Judged::kFailed;
  e.need = data.size() + 1;
  // Its next frame's first byte would be past what may be held from the
  // start (a whole frame larger than the hold came in one piece).
  return e.need - e.at > rules_.max_hold_bytes ? Judged::kFailed : Judged::kOpen;
}

void Resync::rebase(size_t front) {
  for (Open& e : open_) {
    e.at -= front;
    e.chain_end -= front;
    if (e.need != 0) e.need -= front;
  }
  scanned_ -= front;
  if (due_ != UINT64_MAX) due_ -= front;
}

Resync::Step Resync::longestToEnd(const FrameGrammar& grammar, Bytes data) {
  // frames[i]: frames of the chain from i that ends exactly at the end (0:
  // none). Filled backwards, so each position is guessed once.
  std::vector<uint32_t> frames(data.size() + 1, 0);
  size_t best = data.size();
  for (size_t i = data.size(); i-- > 0;) {
    const FrameGuess g = grammar.guess(data, i);
    if (g.verdict != FrameGuess::kFrame || g.size == 0 || g.size > data.size() - i) continue;
    const size_t next = i + static_cast<size_t>(g.size);
    if (next == data.size()) {
      frames[i] = 1;
    } else if (frames[next] > 0) {
      frames[i] = frames[next] + 1;
    }
    if (frames[i] > 0 && (best == data.size() || frames[i] >= frames[best])) best = i;
  }
  Step step;
  if (best == data.size()) {
    step.kind = Step::kNothing;
    step.offset = data.size();
    start();
    return step;
  }
  step.kind = Step::kFound;
  step.offset = best;
  stop();
  return step;
}

size_t Resync::denserWithin(const FrameGrammar& grammar, Bytes data, const Open& first) const {
  const size_t end = first.chain_end;
  if (first.frames == 0 || end > data.size() || end - first.at > rules_.denser_within_bytes) return first.at;
  // A start the grammar is sure of stands (a greeting's zero filler reads
  // as many small frames).
  const FrameGuess head = grammar.guess(data, first.at);
  if (head.sure) return first.at;
  // For the chain from each position, backwards: whether every frame is
  // plausible up to `end` (a frame across it, or one needing more bytes,
  // ends the look), how many frames it completes by then, and whether it
  // lands on `end` exactly.
  struct Reach {
    uint32_t frames = 0;
    bool ok = false;
    bool exact = false;
  };
  std::vector<Reach> reach(end - first.at + 1);
  reach.back() = {0, true, true};
  Reach exact, any;  // the later starts with the most frames (the earliest of them)
  size_t exact_at = first.at, any_at = first.at;
  for (size_t i = end; i-- > first.at;) {
    const FrameGuess g = grammar.guess(data, i);
    Reach r;
    if (g.verdict == FrameGuess::kNeedMore || (g.verdict == FrameGuess::kFrame && g.size > end - i)) {
      r.ok = true;
    } else if (g.verdict == FrameGuess::kFrame && g.size > 0) {
      const Reach& n = reach[i + static_cast<size_t>(g.size) - first.at];
      if (n.ok) r = {n.frames + 1, true, n.exact};
    }
    reach[i - first.at] = r;
    if (!r.ok || r.frames == 0 || i < first.at + rules_.denser_tie_from) continue;
    if (r.exact && r.frames >= exact.frames) {
      exact = r;
      exact_at = i;
    }
    if (r.frames >= any.frames) {
      any = r;
      any_at = i;
    }
  }
  const uint32_t first_frames = reach.front().frames;
  // A later chain that meets the earliest's end in more frames wins; so does
  // one as dense when bytes were passed over before the earliest start (it
  // is then inside what the gap cut as likely as not, unless its first
  // frame's header is strong evidence). Starts inside the
  // earliest's header are left out: they read its size as flags, which
  // small frames make look valid far too often.
  const bool after_junk = (first.at > 0 || passed_over_) && !head.strong;
  // A chain that does not meet it (it runs on across the end) needs two
  // frames more: it replaces the earliest chain on weaker evidence.
  if (any.frames >= first_frames + 2 && any.frames > exact.frames) return any_at;
  if (exact.frames > first_frames || (after_junk && exact.frames > 0 && exact.frames == first_frames)) return exact_at;
  return first.at;
}

Resync::Step Resync::find(const FrameGrammar& grammar, Bytes data, bool at_end) {
  if (at_end && rules_.longest_to_end) return longestToEnd(grammar, data);
  if (data.size() < seen_size_) {
    // Not the data this search was on (the caller broke the contract): search again.
    start();
  }
  seen_size_ = data.size();
  // Starts in question whose data has come (or that the end decides).
  if (at_end || due_ <= data.size()) {
    due_ = UINT64_MAX;
    size_t kept = 0;
    for (Open e : open_) {
      if (e.need != 0 && (at_end || e.need <= data.size())) {
        const Judged j = judge(grammar, data, at_end, e);
        if (j == Judged::kFailed) continue;
        if (j == Judged::kConfirmed) e.need = 0;
      }
      if (e.need != 0) due_ = std::min(due_, e.need);
      open_[kept++] = e;
    }
    open_.resize(kept);
  }
  // New starts, while there is room to keep them in question.
  while (scanned_ < data.size() && open_.size() < kMaxOpen) {
    if (!open_.empty() && open_.front().need == 0) break;  // the earliest is confirmed: nothing later matters
    Open e{scanned_, scanned_, 0, 0};
    ++scanned_;
    const Judged j = judge(grammar, data, at_end, e);
    if (j == Judged::kFailed) continue;
    if (j == Judged::kConfirmed) e.need = 0;
    if (e.need != 0) due_ = std::min(due_, e.need);
    open_.push_back(e);
    if (rules_.later_whole_wins && e.need == 0 && e.frames > 0) break;
  }
  Step step;
  if (rules_.later_whole_wins) {
    for (const Open& e : open_) {
      if (e.need != 0 || e.frames == 0) continue;
      step.kind = Step::kFound;
      step.offset = e.at;
      stop();
      return step;
    }
  }
  if (open_.empty()) {  // the scan went through all of it
    step.kind = Step::kNothing;
    step.offset = data.size();
    start();
    passed_over_ = data.size() > 0;
    return step;
  }
  const Open& first = open_.front();
  if (first.need == 0) {
    step.kind = Step::kFound;
    step.offset = rules_.denser_wins ? denserWithin(grammar, data, first) : first.at;
    stop();
    return step;
  }
  step.kind = Step::kWait;
  step.offset = first.at;
  passed_over_ = passed_over_ || first.at > 0;
  rebase(first.at);
  seen_size_ = data.size() - step.offset;
  // With room for more starts, every new byte is one to judge.
  step.need = open_.size() < kMaxOpen ? std::min<uint64_t>(due_, seen_size_ + 1) : due_;
  return step;
}

}  // namespace l7
