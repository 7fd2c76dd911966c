// The shared resynchronization engine (l7/resync.h) on a toy grammar:
// "L<n>" followed by n bytes is a frame (n a digit, or Z for 200), anything
// else is not.
#include <gtest/gtest.h>

#include <string>

#include "l7/resync.h"

namespace l7 {
namespace {

struct DigitFrames final : FrameGrammar {
  mutable size_t guesses = 0;
  FrameGuess guess(Bytes data, size_t at) const noexcept override {
    ++guesses;
    if (data[at] != 'L') return FrameGuess::no();
    if (data.size() - at < 2) return FrameGuess::needMore(2);
    const uint8_t n = data[at + 1];
    if (n == 'Z') return FrameGuess::frame(202);
    if (n < '0' || n > '9') return FrameGuess::no();
    return FrameGuess::frame(2 + (n - '0'));
  }
};

Resync::Step findIn(Resync& r, const std::string& s, bool at_end = false) {
  static DigitFrames grammar;
  return r.find(grammar, asBytes(std::string_view(s)), at_end);
}

TEST(Resync, AChainOfTwoFramesConfirmsTheEarliestStart) {
  Resync r;
  r.start();
  const Resync::Step s = findIn(r, "xxL1aL2bbzz");
  EXPECT_EQ(s.kind, Resync::Step::kFound);
  EXPECT_EQ(s.offset, 2u);
  EXPECT_FALSE(r.active());
}

TEST(Resync, AnEarlierStartStillArrivingIsWaitedForAndWinsWhenItsChainCloses) {
  Resync r;
  r.start();
  // L9 at 1 claims 9 bytes; inside them L0L0 is a complete chain of two.
  Resync::Step s = findIn(r, "xL9L0L0");
  ASSERT_EQ(s.kind, Resync::Step::kWait);
  EXPECT_EQ(s.offset, 1u);
  // The data now starts at the waited-for candidate, and grows.
  s = findIn(r, "L9L0L0abcdeL0");
  EXPECT_EQ(s.kind, Resync::Step::kFound);
  EXPECT_EQ(s.offset, 0u);
}

TEST(Resync, AtTheEndAnOpenStartFailsAndTheNextConfirmedOneIsTaken) {
  Resync r;
  r.start();
  const Resync::Step s = findIn(r, "L9L0L0L0", /*at_end=*/true);
  EXPECT_EQ(s.kind, Resync::Step::kFound);
  EXPECT_EQ(s.offset, 2u);
}

TEST(Resync, AtTheEndOneFrameEndingExactlyThereConfirms) {
  Resync r;
  r.start();
  const Resync::Step s = findIn(r, "??L2ab", /*at_end=*/true);
  EXPECT_EQ(s.kind, Resync::Step::kFound);
  EXPECT_EQ(s.offset, 2u);
}

ResyncRules denserWins() {
  ResyncRules rules;
  rules.denser_wins = true;
  return rules;
}

TEST(Resync, DenserWinsTakesTheLaterChainThatMeetsTheEarliestsEndInMoreFrames) {
  // L5 at 0 ends at 7, where L0 confirms it; L0L0 at 3 reaches 7 too.
  Resync plain;
  plain.start();
  EXPECT_EQ(findIn(plain, "L5xL0L0L0").offset, 0u);
  Resync r(denserWins());
  r.start();
  const Resync::Step s = findIn(r, "L5xL0L0L0");
  EXPECT_EQ(s.kind, Resync::Step::kFound);
  EXPECT_EQ(s.offset, 3u);
}

TEST(Resync, DenserWinsTakesAChainAsDenseOnlyAfterBytesPassedOver) {
  // L3 and the L0 inside it both reach 6 in one frame.
  Resync at_start(denserWins());
  at_start.start();
  EXPECT_EQ(findIn(at_start, "L3xL0L0").offset, 0u);
  Resync after_junk(denserWins());
  after_junk.start();
  EXPECT_EQ(findIn(after_junk, "?L3xL0L0").offset, 4u);
}

TEST(Resync, NothingPlausibleIsAllPassedOver) {
  Resync r;
  r.start();
  const Resync::Step s = findIn(r, "abcdef");
  EXPECT_EQ(s.kind, Resync::Step::kNothing);
  EXPECT_EQ(s.offset, 6u);
  EXPECT_TRUE(r.active());
}

TEST(Resync, AStartNeedingMoreThanTheHoldCapIsNotWaitedFor) {
  Resync r(ResyncRules{2, 5});
  r.start();
  const Resync::Step s = findIn(r, "L9abL0L0");
  EXPECT_EQ(s.kind, Resync::Step::kFound);
  EXPECT_EQ(s.offset, 4u);
}

// A whole frame longer than the hold, come in one piece, ends a chain of
// one exactly at the data's end: waiting for the next frame would hold more
// than the cap, so that start is not kept in question (the fuzz target
// found a decoder tail past its buffering cap this way).
TEST(Resync, AWholeFrameLongerThanTheHoldCapDoesNotKeepItsStartOpen) {
  Resync r(ResyncRules{2, 5});
  r.start();
  const Resync::Step s = findIn(r, "L9abcdefghi");
  EXPECT_EQ(s.kind, Resync::Step::kNothing);
  EXPECT_EQ(s.offset, 11u);
  Resync wide(ResyncRules{2, 64});
  wide.start();
  const Resync::Step w = findIn(wide, "L9abcdefghi");
  ASSERT_EQ(w.kind, Resync::Step::kWait);  // within the hold it is waited for
  EXPECT_EQ(w.offset, 0u);
}

// At most kMaxOpen starts are in question; the scan pauses behind them, and
// asks for the data size that decides the earliest.
TEST(Resync, StartsInQuestionAreBoundedAndTheScanPausesBehindThem) {
  Resync r;
  r.start();
  std::string s;
  for (size_t i = 0; i < Resync::kMaxOpen + 10; ++i) s += "LZ";
  const Resync::Step step = findIn(r, s);
  ASSERT_EQ(step.kind, Resync::Step::kWait);
  EXPECT_EQ(step.offset, 0u);
  EXPECT_EQ(step.need, 202u);  // when the first start's frame is whole, not one byte more

}

// Work per byte stays bounded when data arrives a byte at a time behind a
// start that waits for a long frame: each position is judged about once.
TEST(Resync, GuessesGrowLinearlyWithTheInput) {
  DigitFrames grammar;
  Resync r;
  r.start();
  std::string data = "L9";
  size_t front = 0;
  for (int i = 0; i < 4000; ++i) {
    data.push_back('z');
    const Resync::Step s = r.find(grammar, asBytes(std::string_view(data).substr(front)), false);
    if (s.kind != Resync::Step::kWait) {
      r.start();
      front = data.size();
      continue;
    }
    front += s.offset;
  }
  EXPECT_LT(grammar.guesses, 4u * data.size());
}

}  // namespace
}  // namespace l7
