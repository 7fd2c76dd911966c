#include "pulsar/pulsar_payload.h"

#include "l7/tracectx.h"
#include "pulsar/crc32c.h"
#include "pulsar/pulsar_proto.h"

namespace l7::pulsar {
namespace {

constexpr uint16_t kMagicBrokerEntryMetadata = 0x0e02;
constexpr uint16_t kMagicCrc32c = 0x0e01;
// MessageMetadata fields.
constexpr uint32_t kProducerName = 1, kSequenceId = 2, kPublishTime = 3, kProperties = 4, kCompression = 8,
                   kNumMessagesInBatch = 11;
// SingleMessageMetadata fields.
constexpr uint32_t kEntryProperties = 1, kEntryPayloadSize = 3;

// Walks the repeated KeyValue field `number` of a (Single)MessageMetadata:
// every property must have its key and value; trace headers go to `fields`.
std::string readProperties(Bytes metadata, uint32_t number, const PayloadCaps& caps, L7Fields& fields) {
  pb::Reader r(metadata);
  pb::Field f;
  uint32_t count = 0;
  while (r.next(f)) {
    if (f.number != number || f.wire != pb::kLen) continue;
    if (++count > caps.max_properties) return "more properties than the cap (" + std::to_string(caps.max_properties) + ")";
    pb::Summary kv;
    if (!pb::summarize(f.bytes, kv)) return "property: " + std::string(kv.error);
    if (!kv.hasAll(0, 1u << 1 | 1u << 2)) return "property without its key or value";
    tracectx::applyTraceHeader(pb::text(kv.bytes[1]), pb::text(kv.bytes[2]), fields);
  }
  return std::string(r.error());
}

// An uncompressed batch: `count` entries of u32 size, SingleMessageMetadata,
// then payload_size bytes, covering the payload exactly.
std::string walkBatch(Bytes payload, uint64_t count, const PayloadCaps& caps, L7Fields& fields) {
  if (count > caps.max_batch_entries) {
    return "batch of more entries than the cap (" + std::to_string(caps.max_batch_entries) + ")";
  }
  ByteReader r(payload);
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t size = 0;
    Bytes meta;
    if (!r.u32be(size) || !r.bytes(size, meta)) return "batch entry " + std::to_string(i) + " cut";
    pb::Summary s;
    if (!pb::summarize(meta, s)) return "batch entry metadata: " + std::string(s.error);
    if (!s.hasVarint(kEntryPayloadSize)) return "batch entry metadata lacks payload_size";
    const int32_t data_size = static_cast<int32_t>(s.varint[kEntryPayloadSize]);
    if (data_size < 0 || !r.skip(static_cast<size_t>(data_size))) return "batch entry " + std::to_string(i) + " cut";
    if (std::string e = readProperties(meta, kEntryProperties, caps, fields); !e.empty()) return "batch entry " + e;
  }
  if (!r.empty()) return "bytes after the last batch entry";
  return "";
}

}  // namespace

PayloadResult decodePayload(Bytes extra, bool whole, const PayloadCaps& caps, L7Fields& fields) {
  PayloadResult out;
  // A held prefix may end anywhere: only a whole frame is cut short.
  auto cut = [whole](const char* what) { return PayloadResult{whole ? what : "", false}; };
  ByteReader r(extra);
  uint16_t magic = 0;
  if (!r.u16be(magic)) return cut("payload part cut before its magic");
  if (magic == kMagicBrokerEntryMetadata) {
    uint32_t size = 0;
    Bytes meta;
    if (!r.u32be(size) || !r.bytes(size, meta)) return cut("broker entry metadata cut");
    pb::Summary s;
    if (!pb::summarize(meta, s)) return {"broker entry metadata: " + std::string(s.error), false};
    if (!r.u16be(magic)) return cut("payload part cut before its magic");
  }
  if (magic != kMagicCrc32c) return {"payload part without the 0x0e01 magic", false};
  uint32_t checksum = 0;
  if (!r.u32be(checksum)) return cut("payload checksum cut");
  const Bytes covered = r.rest();  // metadata size, metadata, payload
  uint32_t meta_size = 0;
  Bytes meta;
  if (!r.u32be(meta_size) || !r.bytes(meta_size, meta)) return cut("message metadata cut");
  pb::Summary s;
  if (!pb::summarize(meta, s)) return {"message metadata: " + std::string(s.error), false};
  if (!s.hasAll(1u << kSequenceId | 1u << kPublishTime, 1u << kProducerName)) {
    return {"message metadata lacks a required field", false};
  }
  if (std::string e = readProperties(meta, kProperties, caps, fields); !e.empty()) return {std::move(e), false};
  if (!whole) return out;
  out.checksum_verified = true;
  if (const uint32_t actual = crc32c(covered); actual != checksum) {
    out.error = "payload checksum mismatch (CRC32C " + std::to_string(actual) + ", frame says " +
                std::to_string(checksum) + ")";
    return out;
  }
  const bool compressed = s.hasVarint(kCompression) && s.varint[kCompression] != 0;
  if (s.hasVarint(kNumMessagesInBatch) && !compressed) {
    out.error = walkBatch(r.rest(), s.varint[kNumMessagesInBatch], caps, fields);
  }
  return out;
}

std::string messageIdText(Bytes message_id_data) {
  pb::Summary s;
  if (!pb::summarize(message_id_data, s) || !s.hasAll(1u << 1 | 1u << 2, 0)) return "";
  auto optional32 = [&](uint32_t n) { return s.hasVarint(n) ? static_cast<int32_t>(s.varint[n]) : -1; };
  return std::to_string(s.varint[1]) + ":" + std::to_string(s.varint[2]) + ":" + std::to_string(optional32(3)) + ":" +
         std::to_string(optional32(4));
}

}  // namespace l7::pulsar
