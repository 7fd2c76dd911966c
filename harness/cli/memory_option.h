// --memory-limit, shared by replay, check and bench: one budget for all the
// replay holds (capture/memory_budget.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "capture/memory_budget.h"

namespace l7h::cli {

inline constexpr const char* kMemoryLimitHelp =
    "memory budget for everything the replay holds (out-of-order segments, tails, pending requests,\n"
    "records held for ordering, metrics), e.g. 512M, 2G (default 1G); past it the output degrades\n"
    "in a stated order, counted on stderr";

// "N" (MiB), "NK", "NM", "NG"; between 16 MiB and 1 TiB. False (after a
// usage message naming `command`) otherwise.
inline bool parseMemoryLimit(const char* command, const std::string& text, uint64_t& bytes) {
  bytes = MemoryBudget::kDefaultLimit;
  if (text.empty()) return true;
  size_t digits = 0;
  uint64_t n = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9' && n < (1ull << 40)) {
    n = n * 10 + static_cast<uint64_t>(text[digits] - '0');
    ++digits;
  }
  const std::string unit = text.substr(digits);
  int shift = -1;
  if (unit.empty() || unit == "M" || unit == "m" || unit == "MiB") shift = 20;
  if (unit == "K" || unit == "k" || unit == "KiB") shift = 10;
  if (unit == "G" || unit == "g" || unit == "GiB") shift = 30;
  constexpr uint64_t kMin = 16ull << 20, kMax = 1ull << 40;
  if (digits == 0 || shift < 0 || n > (kMax >> shift) || (n << shift) < kMin) {
    std::fprintf(stderr, "l7conform %s: --memory-limit must be a size between 16M and 1024G (e.g. 512M, 2G), not '%s'\n",
                 command, text.c_str());
    return false;
  }
  bytes = n << shift;
  return true;
}

}  // namespace l7h::cli
