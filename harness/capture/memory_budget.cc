#include "capture/memory_budget.h"

#include <atomic>

namespace l7h {
namespace {

// Once per process, not per replay: `check` replays many captures, and one
// line per step is what a user needs to know the output was degraded.
std::atomic<bool> g_step_reported[static_cast<size_t>(MemoryStep::kCount)];
std::atomic<bool> g_count_cap_reported{false};

const char* stepText(MemoryStep step) {
  switch (step) {
    case MemoryStep::kReleaseHeld:
      return "records held for ordering were released early (output order is no longer strict)";
    case MemoryStep::kFlushPending:
      return "the oldest pending requests were written out unanswered (type 0, status 5)";
    case MemoryStep::kDropTails:
      return "the largest held tails were dropped as gaps (their messages are lost)";
    case MemoryStep::kCount:
      break;
  }
  return "";
}

}  // namespace

void MemoryBudget::took(MemoryStep step, uint64_t amount) {
  const auto i = static_cast<size_t>(step);
  taken_[i] += amount;
  if (amount == 0 || reported_[i]) return;
  reported_[i] = true;
  if (g_step_reported[i].exchange(true)) return;
  std::fprintf(stderr, "l7conform: memory limit of %llu MiB reached: %s; see the memory counters\n",
               static_cast<unsigned long long>(limit_ >> 20), stepText(step));
}

void MemoryBudget::noteHeldCountCap(uint64_t records) {
  count_cap_releases_ += records;
  if (records == 0 || count_cap_reported_) return;
  count_cap_reported_ = true;
  if (g_count_cap_reported.exchange(true)) return;
  std::fprintf(stderr,
               "l7conform: too many records held for ordering behind an unfinished request: the oldest were "
               "released early (output order is no longer strict)\n");
}

const char* MemoryBudget::holderName(MemoryHolder h) {
  switch (h) {
    case MemoryHolder::kOutOfOrder: return "out-of-order segments";
    case MemoryHolder::kIpFragments: return "IP fragments";
    case MemoryHolder::kUnclassified: return "unclassified bytes";
    case MemoryHolder::kTails: return "decoder tails";
    case MemoryHolder::kPending: return "pending requests";
    case MemoryHolder::kOrdering: return "records held for ordering";
    case MemoryHolder::kMetrics: return "metrics";
    case MemoryHolder::kCount: break;
  }
  return "";
}

}  // namespace l7h
