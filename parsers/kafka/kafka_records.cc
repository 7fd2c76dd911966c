#include "kafka/kafka_records.h"

#include <algorithm>

#include "l7/tracectx.h"

namespace l7::kafka {
namespace {

// RecordBatch v2 header: baseOffset 8, batchLength 4, partitionLeaderEpoch 4,
// magic 1, crc 4, attributes 2, lastOffsetDelta 4, baseTimestamp 8,
// maxTimestamp 8, producerId 8, producerEpoch 2, baseSequence 4,
// recordsCount 4.
constexpr size_t kMagicOffset = 16;
constexpr size_t kAttributesOffset = 21;
constexpr size_t kRecordCountOffset = 57;
constexpr size_t kBatchHeaderSize = 61;
// A first attempt decompresses this much; most first records fit, and a
// larger one costs a second pass up to the cap.
constexpr size_t kFirstDecompressAttempt = 4u << 10;

enum class FirstRecord : uint8_t { kRead, kTruncated, kMalformed, kOverCap };

bool varLength(ByteReader& r, int64_t& len) {
  return r.svarint(len, 5) && len >= -1;
}

// Record: length varint, attributes i8, timestampDelta varlong, offsetDelta
// varint, key, value (varint length, -1 = null), headers: count varint, then
// key (varint length + UTF-8) and value (varint length, -1 = null) each.
FirstRecord readFirstRecord(Bytes data, uint32_t max_headers, L7Fields& fields, uint32_t& header_count) {
  ByteReader outer(data);
  int64_t length = 0;
  if (!outer.svarint(length, 5)) return outer.remaining() < 5 ? FirstRecord::kTruncated : FirstRecord::kMalformed;
  if (length < 0) return FirstRecord::kMalformed;
  ByteReader r;
  if (!outer.sub(static_cast<size_t>(length), r)) return FirstRecord::kTruncated;
  int8_t attributes = 0;
  int64_t timestamp_delta = 0, offset_delta = 0, key_len = 0, value_len = 0;
  if (!r.i8(attributes) || !r.svarint(timestamp_delta) || !r.svarint(offset_delta, 5)) return FirstRecord::kMalformed;
  // Null keys and values (length -1) are normal and must not hide the headers.
  if (!varLength(r, key_len) || (key_len > 0 && !r.skip(static_cast<size_t>(key_len)))) return FirstRecord::kMalformed;
  if (!varLength(r, value_len) || (value_len > 0 && !r.skip(static_cast<size_t>(value_len)))) {
    return FirstRecord::kMalformed;
  }
  int64_t count = 0;
  if (!r.svarint(count, 5) || count < 0) return FirstRecord::kMalformed;
  // Checked before any header is read: a hostile count is reported as such
  // (status 6 for the message), not mistaken for a short record.
  if (count > static_cast<int64_t>(max_headers)) return FirstRecord::kOverCap;
  for (int64_t i = 0; i < count; ++i) {
    int64_t name_len = 0, val_len = 0;
    std::string_view name, value;
    if (!r.svarint(name_len, 5) || name_len < 0 || !r.text(static_cast<size_t>(name_len), name)) {
      return FirstRecord::kMalformed;
    }
    if (!varLength(r, val_len)) return FirstRecord::kMalformed;
    if (val_len >= 0 && !r.text(static_cast<size_t>(val_len), value)) return FirstRecord::kMalformed;
    tracectx::applyTraceHeader(name, value, fields);
    ++header_count;
  }
  return FirstRecord::kRead;
}

}  // namespace

RecordSetResult applyFirstRecordTrace(Bytes records, const DecoderLimits& limits, L7Fields& fields,
                                      DecompressionBudget* budget) {
  RecordSetResult result;
  if (records.empty()) return result;
  result.kind = RecordSetKind::kUnreadable;
  if (records.size() <= kMagicOffset) return result;
  const uint8_t magic = records[kMagicOffset];
  if (magic == 0 || magic == 1) {
    result.kind = RecordSetKind::kLegacy;
    return result;
  }
  if (magic != 2 || records.size() < kBatchHeaderSize) return result;

  ByteReader header(records);
  uint32_t batch_length = 0;
  uint16_t attributes = 0;
  int32_t record_count = 0;
  header.skip(8);
  header.u32be(batch_length);
  header = ByteReader(records.subspan(kAttributesOffset));
  header.u16be(attributes);
  header = ByteReader(records.subspan(kRecordCountOffset));
  header.i32be(record_count);
  // batchLength counts the bytes after itself; a record set may end inside
  // the batch (Fetch responses cut at max_bytes), so clip to what is here.
  const size_t batch_end = std::min<size_t>(records.size(), size_t{12} + batch_length);
  if (batch_end < kBatchHeaderSize || record_count <= 0) return result;
  const Bytes body = records.subspan(kBatchHeaderSize, batch_end - kBatchHeaderSize);
  result.compression = attributes & 0x7;
  const uint32_t max_headers = limits.max_array_count;

  FirstRecord read = FirstRecord::kMalformed;
  if (result.compression == 0) {
    read = readFirstRecord(body, max_headers, fields, result.headers);
  } else {
    const size_t cap = std::min<size_t>(limits.max_buffered_bytes, kMaxDecompressedPrefix);
    if (budget != nullptr) budget->earn(body.size());
    // What the budget allows of `want` bytes of output.
    const auto allowed = [&](size_t want) {
      return budget == nullptr ? want : static_cast<size_t>(std::min<uint64_t>(want, budget->left));
    };
    const auto overBudget = [&] {
      ++budget->hits;
      result.kind = RecordSetKind::kOverBudget;
      return result;
    };
    std::string plain;
    size_t attempt = allowed(std::min(cap, kFirstDecompressAttempt));
    if (attempt == 0) return overBudget();
    while (true) {
      const bool ok = decompressPrefix(result.compression, body, attempt, plain);
      if (budget != nullptr) budget->spend(plain.size());
      if (!ok) {
        result.kind = RecordSetKind::kDecompressFailed;
        return result;
      }
      L7Fields scratch;
      uint32_t headers = 0;
      read = readFirstRecord(asBytes(plain), max_headers, scratch, headers);
      const bool full = read == FirstRecord::kTruncated && plain.size() == attempt;
      // Grow once when the first record did not fit and the output was full.
      if (full && attempt < cap) {
        const size_t grown = allowed(cap);
        if (grown <= attempt) return overBudget();
        attempt = grown;  // below the cap when the budget says so: a shorter first record may still fit
        continue;
      }
      if (read == FirstRecord::kRead) {
        readFirstRecord(asBytes(plain), max_headers, fields, result.headers);
      } else if (full) {
        // First record larger than the cap, or than the budget let us inflate.
        if (attempt < cap) return overBudget();
        result.kind = RecordSetKind::kDecompressFailed;
        return result;
      }
      break;
    }
  }
  switch (read) {
    case FirstRecord::kRead: result.kind = RecordSetKind::kBatch; break;
    case FirstRecord::kOverCap: result.kind = RecordSetKind::kOverCap; break;
    default: result.kind = RecordSetKind::kUnreadable; break;
  }
  return result;
}

}  // namespace l7::kafka
