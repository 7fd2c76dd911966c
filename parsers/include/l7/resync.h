// The one resynchronization engine: finds where frames start again after
// lost bytes or a mid-stream join. A protocol supplies only its grammar
// (FrameGrammar: "could a frame start here, and how long is it"); the
// engine owns the search, its bounds and its rules, so every decoder
// recovers the same way.
//
// Rules. A start is confirmed by a chain of `confirm_frames` plausible
// frames, each beginning where the one before ends, or, at the end of the
// data (end of stream, or a gap that follows), by a chain of at least one
// frame ending exactly there. The earliest start still in question is
// waited for: a later confirmed chain is taken only once every earlier
// start has failed (a large frame arriving slowly offers its payload many
// false chains), unless `later_whole_wins`. A grammar may call one frame
// enough (FrameGuess::sure). A start is not waited for past
// `max_hold_bytes`.
// Once a start is taken the decoder decodes every frame from it, so no frame
// of the confirming chain is lost.
//
// Cost. Each position is judged once as a start; at most kMaxOpen starts
// are kept in question (the scan pauses behind them); a start is judged
// again only when the data reaches the size it asked for, and then only
// the rest of its chain. With a grammar that reads a bounded prefix, work is
// linear in the input and memory bounded, whatever the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "l7/byte_reader.h"

namespace l7 {

struct FrameGuess {
  enum Verdict : uint8_t { kNo, kNeedMore, kFrame };
  Verdict verdict = kNo;
  uint64_t size = 0;  // kFrame: the frame's whole length
  uint64_t need = 0;  // kNeedMore: bytes from the start needed to judge (0: one more)
  // kFrame: the grammar checked enough (a body that decodes, the next
  // frame's prefix) for this frame to confirm its start alone, whole or not.
  bool sure = false;
  // kFrame: its header passed checks that chance seldom does (not enough
  // to confirm it alone); an earliest start whose first frame is strong
  // keeps its place on a denser_wins tie.
  bool strong = false;
  static FrameGuess no() { return {}; }
  static FrameGuess needMore(uint64_t need = 0) { return {kNeedMore, 0, need, false}; }
  static FrameGuess frame(uint64_t size) { return {kFrame, size, 0, false}; }
  static FrameGuess sureFrame(uint64_t size) { return {kFrame, size, 0, true}; }
  static FrameGuess strongFrame(uint64_t size) { return {kFrame, size, 0, false, true}; }
};

// A protocol's grammar. guess() judges a frame start at data[at] (data[at-1]
// may be read: line protocols start frames after a line end). It must read
// a bounded prefix only, and must not change decoder state.
class FrameGrammar {
 public:
  virtual FrameGuess guess(Bytes data, size_t at) const noexcept = 0;

 protected:
  ~FrameGrammar() = default;
};

struct ResyncRules {
  uint32_t confirm_frames = 2;
  // A start whose chain needs more bytes than this held is not waited for
  // (the decoder's buffer cap, less what it keeps for its own reasons).
  uint64_t max_hold_bytes = 4u << 20;
  // A later start confirmed by a whole frame is taken before earlier ones
  // still in question (Kafka's requests come in one flight: a whole request
  // behind an undecided start shows that start to be inside a payload).
  bool later_whole_wins = false;
  // At the end of the data, take the start whose chain covers the rest
  // exactly with the most frames (computed backwards, one guess a position),
  // instead of the earliest confirmed one: a false chain inside a payload
  // seldom lands exactly on the end, the real traffic always does.
  bool longest_to_end = false;
  // When the earliest start is confirmed, take instead a start between it
  // and its chain's end whose chain meets that end in more frames (or as
  // many, when bytes were passed over before the earliest and its first
  // frame is not FrameGuess::strong), or whose chain
  // stays plausible across that end with two frames more than the
  // earliest's (computed backwards, one guess a position, over at most
  // `denser_within_bytes`). After a gap the bytes first seen are most
  // likely the rest of the frame the gap cut: a false frame read there can
  // end on a real boundary (or inside a real header) and confirm, swallowing
  // the real frames that begin inside it, which cover the same bytes in
  // more, smaller steps.
  bool denser_wins = false;
  uint32_t denser_within_bytes = 64u << 10;
  // Only later starts at least this far from the earliest are looked at
  // (the protocol's shortest frame header).
  uint32_t denser_tie_from = 1;
};

class Resync {
 public:
  static constexpr size_t kMaxOpen = 32;

  struct Step {
    enum Kind : uint8_t {
      kFound,    // a frame starts at `offset`: resynchronized
      kWait,     // the bytes before `offset` are passed over; a start there is in question
      kNothing,  // no start in the data: all `offset` (= size) bytes are passed over
    };
    Kind kind = kNothing;
    size_t offset = 0;
    uint64_t need = 0;  // kWait: the data size (from `offset`) to wait for
  };

  explicit Resync(ResyncRules rules = {}) : rules_(rules) {}

  bool active() const { return active_; }
  // A start is in question (the search waits for its bytes).
  bool waiting() const { return active_ && !open_.empty(); }
  // Lost framing: search from the next bytes.
  void start();
  // Framing is known (a probe aligned the side, or the decoder found it).
  void stop();
  // `data` begins where the last Step left it (after its offset) and only
  // grows between calls; `at_end`: nothing follows it.
  Step find(const FrameGrammar& grammar, Bytes data, bool at_end);

 private:
  struct Open {
    size_t at;         // start
    size_t chain_end;  // end of the chain's complete frames
    uint32_t frames;   // complete frames in the chain
    uint64_t need;     // data size at which to judge it again (0: confirmed)
  };
  enum class Judged : uint8_t { kFailed, kOpen, kConfirmed };
  Judged judge(const FrameGrammar& grammar, Bytes data, bool at_end, Open& e) const;
  Step longestToEnd(const FrameGrammar& grammar, Bytes data);
  size_t denserWithin(const FrameGrammar& grammar, Bytes data, const Open& first) const;
  void rebase(size_t front);

  ResyncRules rules_;
  bool active_ = false;
  bool passed_over_ = false; // bytes were passed over since start()
  size_t scanned_ = 0;       // starts before it are failed or in open_
  size_t seen_size_ = 0;     // the data size of the last call
  uint64_t due_ = UINT64_MAX;  // smallest need among open_
  std::vector<Open> open_;   // ascending `at`; empty while in sync
};

// The resynchronization step at the top of a decoder's feed loop: while
// `resync` searches, moves `pos` (an offset in `tail`) to the next frame
// start. False: stop feeding this call, with `needed` the tail size to wait
// for (0: any more bytes). True: a frame starts at `pos`, or the side is in
// sync.
inline bool resyncStep(Resync& resync, const FrameGrammar& grammar, Bytes tail, size_t& pos,
                       uint64_t max_buffered_bytes, uint32_t& needed) {
  if (!resync.active()) return true;
  const Resync::Step step = resync.find(grammar, tail.subspan(pos), /*at_end=*/false);
  pos += step.offset;
  if (step.kind == Resync::Step::kWait) {
    needed = static_cast<uint32_t>(step.need < max_buffered_bytes ? step.need : max_buffered_bytes);
    return false;
  }
  return step.kind != Resync::Step::kNothing;
}

// The same at the end of a side's data (onEof), where a start is judged by
// a chain that ends exactly at the end. False: no frame starts in `tail`
// (it is only the debris of a gap). True: decode from `pos` (0 when the
// side is in sync).
inline bool resyncAtEnd(Resync& resync, const FrameGrammar& grammar, Bytes tail, size_t& pos) {
  pos = 0;
  if (!resync.active()) return true;
  const Resync::Step step = resync.find(grammar, tail, /*at_end=*/true);
  if (step.kind != Resync::Step::kFound) return false;
  pos = step.offset;
  return true;
}

}  // namespace l7
