// The chunk format of the stream fuzz targets (documented in README.md).
//
// An input is a sequence of chunks separated by the 4 bytes "\xF0L7\x0F".
// Each chunk starts with a control byte:
//   bit 0     direction: 0 client→server, 1 server→client
//   bits 1-2  action: 0 data (the rest of the chunk is bytes on the wire),
//             1 gap (the rest, as a little-endian number of up to 3 bytes,
//               is how many bytes were lost), 2 end of stream for that
//               direction, 3 close the connection (the rest is ignored)
// An empty chunk is skipped. At most kMaxChunks chunks are used, so one
// input cannot run for long. A separator (rather than lengths) keeps most
// mutations local: inserting a byte changes one chunk, not the framing of
// everything after it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace l7fuzz {

inline constexpr uint8_t kSeparator[4] = {0xF0, 'L', '7', 0x0F};
inline constexpr size_t kMaxChunks = 512;

enum class Action : uint8_t { kData = 0, kGap = 1, kEof = 2, kClose = 3 };

struct Chunk {
  int direction;
  Action action;
  std::span<const uint8_t> bytes;
};

inline std::vector<Chunk> splitChunks(const uint8_t* data, size_t size) {
  std::vector<Chunk> out;
  size_t start = 0;
  auto emit = [&](size_t end) {
    if (end > start && out.size() < kMaxChunks) {
      const uint8_t control = data[start];
      out.push_back(Chunk{control & 1, static_cast<Action>((control >> 1) & 3),
                          std::span<const uint8_t>(data + start + 1, end - start - 1)});
    }
  };
  // memchr finds the separator's first byte; comparing at every position
  // instead cost an instrumented memcmp call per input byte (issue 20).
  size_t i = 0;
  while (i + sizeof(kSeparator) <= size) {
    const void* hit = std::memchr(data + i, kSeparator[0], size - i - sizeof(kSeparator) + 1);
    if (hit == nullptr) break;
    i = static_cast<size_t>(static_cast<const uint8_t*>(hit) - data);
    if (data[i + 1] == kSeparator[1] && data[i + 2] == kSeparator[2] && data[i + 3] == kSeparator[3]) {
      emit(i);
      start = i + sizeof(kSeparator);
      i = start;
    } else {
      ++i;
    }
  }
  emit(size);
  return out;
}

}  // namespace l7fuzz
