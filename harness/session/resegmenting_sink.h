// A StreamSink decorator that re-splits every data chunk into smaller ones
// (same timestamp, consecutive offsets and sequence numbers). Used by the
// golden tests: decoders must give byte-identical records whatever the
// segmentation, and this exercises every split point of the real corpus.
#pragma once

#include <cstdint>

#include "capture/stream_events.h"

namespace l7h {

class ResegmentingSink final : public StreamSink {
 public:
  // max_piece 1: one byte at a time; otherwise random pieces of 1..max_piece.
  ResegmentingSink(StreamSink& inner, uint32_t max_piece, uint64_t seed)
      : inner_(inner), max_piece_(max_piece == 0 ? 1 : max_piece), state_(seed) {}

  void onOpen(const ConnectionInfo& info) override { inner_.onOpen(info); }
  void onData(ConnId id, const DataChunk& chunk) override {
    size_t pos = 0;
    while (pos < chunk.data.size()) {
      const size_t piece = std::min<size_t>(chunk.data.size() - pos, nextPiece());
      DataChunk part = chunk;
      part.stream_offset = chunk.stream_offset + pos;
      part.tcp_seq = chunk.tcp_seq + static_cast<uint32_t>(pos);
      part.data = chunk.data.subspan(pos, piece);
      inner_.onData(id, part);
      pos += piece;
    }
  }
  void onGap(ConnId id, int side, uint64_t missing, int64_t ts_us) override { inner_.onGap(id, side, missing, ts_us); }
  void onSideClosed(ConnId id, int side, int64_t ts_us) override { inner_.onSideClosed(id, side, ts_us); }
  void onClose(ConnId id, int64_t ts_us) override { inner_.onClose(id, ts_us); }
  void onClock(int64_t ts_us) override { inner_.onClock(ts_us); }

 private:
  // splitmix64: tiny, and the same sequence on every platform.
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t nextPiece() { return max_piece_ == 1 ? 1 : 1 + static_cast<size_t>(next() % max_piece_); }

  StreamSink& inner_;
  uint32_t max_piece_;
  uint64_t state_;
};

}  // namespace l7h
