// Record sets (the RECORDS field of Produce requests and Fetch responses):
// the first record of the first batch, for its trace headers.
//
// Kafka's record format (https://kafka.apache.org/documentation/#recordbatch):
// magic 2 RecordBatch (61-byte header, records optionally compressed as one
// gzip/snappy/lz4/zstd blob), or the legacy magic 0/1 MessageSet, which has
// no headers. Record sets are payload: what is wrong inside them (a corrupt
// batch, a bad magic, data that does not decompress) only means no trace
// ids. The one exception is a header count over max_array_count: that is a
// cap, and every cap the wire hits is reported (kOverCap), so the caller
// fails the Kafka message with status 6 as it does for any other count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "l7/byte_reader.h"
#include "l7/decoder.h"
#include "l7/record.h"

namespace l7::kafka {

enum class RecordSetKind : uint8_t {
  kEmpty,             // null or zero-length record set
  kBatch,             // magic 2 batch, first record read
  kLegacy,            // magic 0/1 message set: no headers by design
  kUnreadable,        // unknown magic, bad lengths, truncated first record
  kDecompressFailed,  // corrupt compressed data or first record past the cap
  kOverCap,           // the first record declares more headers than max_array_count
  kOverBudget,        // the first record is past what the connection's decompression budget allows
};

// What inflating record sets may cost one connection. A compressed record
// set earns kCreditPerByte bytes of output per compressed byte, on top of a
// start, up to a ceiling; inflating spends what it produces. So a connection
// inflates at most kStart + 64 bytes per compressed byte it carried: a bomb
// (a few KB that would inflate to the 1 MiB prefix cap, every request) runs
// the budget down and is then inflated only as far as it earned, while
// ordinary batches (a 4 KiB prefix, earned by 64 compressed bytes) never
// notice. `hits` counts the record sets it cut short.
struct DecompressionBudget {
  static constexpr uint64_t kStart = 8u << 20;
  static constexpr uint64_t kCeiling = 8u << 20;
  static constexpr uint64_t kCreditPerByte = 64;
  uint64_t left = kStart;
  uint64_t spent = 0;  // bytes inflated in all
  uint64_t hits = 0;
  void earn(size_t compressed) { left = std::min<uint64_t>(kCeiling, left + kCreditPerByte * compressed); }
  void spend(size_t produced) {
    spent += produced;
    left -= std::min<uint64_t>(left, produced);
  }
};

struct RecordSetResult {
  RecordSetKind kind = RecordSetKind::kEmpty;
  int compression = 0;  // batch attributes & 7: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
  uint32_t headers = 0;  // headers of the first record
};

// Applies every sw8 / traceparent header of the first record of the first
// batch to `fields`. Decompresses only a prefix of a compressed batch, never
// more than min(limits.max_buffered_bytes, kMaxDecompressedPrefix), nor more
// than `budget` allows (null: no budget).
RecordSetResult applyFirstRecordTrace(Bytes records, const DecoderLimits& limits, L7Fields& fields,
                                      DecompressionBudget* budget = nullptr);

inline constexpr size_t kMaxDecompressedPrefix = 1u << 20;

// Decompresses at most `max_out` bytes of `input` (codec 1..4) into `out`.
// Returns false when the data is corrupt before any complete output; a
// stream cut short (a truncated frame prefix) returns what it produced.
bool decompressPrefix(int codec, Bytes input, size_t max_out, std::string& out);

}  // namespace l7::kafka
