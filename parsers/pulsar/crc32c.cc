#include "pulsar/crc32c.h"

#include <array>

namespace l7::pulsar {
namespace {

// Slicing-by-8 tables over the reflected polynomial 0x82F63B78: eight bytes
// a step, so verifying a payload costs little next to reassembling it.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables makeTables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}

constexpr Tables kTables = makeTables();

}  // namespace

uint32_t crc32c(Bytes data) noexcept {
  uint32_t c = 0xFFFFFFFFu;
  size_t i = 0;
  const size_t n = data.size();
  for (; i + 8 <= n; i += 8) {
    const uint32_t lo = c ^ (uint32_t{data[i]} | uint32_t{data[i + 1]} << 8 | uint32_t{data[i + 2]} << 16 |
                             uint32_t{data[i + 3]} << 24);
    c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^ kTables[4][lo >> 24] ^
        kTables[3][data[i + 4]] ^ kTables[2][data[i + 5]] ^ kTables[1][data[i + 6]] ^ kTables[0][data[i + 7]];
  }
  for (; i < n; ++i) c = kTables[0][(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace l7::pulsar
