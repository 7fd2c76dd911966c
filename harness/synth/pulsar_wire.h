// Pulsar wire pieces built from the binary protocol page and PulsarApi.proto
// (frames, payload commands, a protobuf encoder). Used by the synthesizer,
// the unit tests and the benchmark; it shares nothing with the decoder (its
// CRC32C is the bitwise definition, the decoder's a table).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace l7h::synth::pulsarwire {

inline std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
// A varint field (int32 negatives as their 64-bit two's complement, as protobuf does).
inline std::string num(uint32_t field, uint64_t v) { return varint(uint64_t{field} << 3) + varint(v); }
// A length-delimited field: string, bytes, or an embedded message.
inline std::string len(uint32_t field, std::string_view body) {
  return varint(uint64_t{field} << 3 | 2) + varint(body.size()) + std::string(body);
}

inline uint32_t crc32c(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

using Properties = std::vector<std::pair<std::string, std::string>>;

inline std::string keyValues(uint32_t field, const Properties& props) {
  std::string out;
  for (const auto& [k, v] : props) out += len(field, len(1, k) + len(2, v));
  return out;
}

// BaseCommand{type, <sub-message numbered like the type>}.
inline std::string base(uint32_t type, std::string_view sub) { return num(1, type) + len(type, sub); }

// totalSize, commandSize, BaseCommand.
inline std::string frame(std::string_view command) {
  return be32(static_cast<uint32_t>(command.size() + 4)) + be32(static_cast<uint32_t>(command.size())) +
         std::string(command);
}
inline std::string frame(uint32_t type, std::string_view sub) { return frame(base(type, sub)); }

// A payload command: [0x0e02 size BrokerEntryMetadata] 0x0e01 crc32c
// metadataSize MessageMetadata payload; the checksum covers metadataSize
// to the end. `bad_checksum` flips it.
inline std::string payloadFrame(std::string_view command, std::string_view metadata, std::string_view payload,
                                std::string_view broker_entry = {}, bool with_broker_entry = false,
                                bool bad_checksum = false) {
  const std::string covered = be32(static_cast<uint32_t>(metadata.size())) + std::string(metadata) + std::string(payload);
  std::string extra;
  if (with_broker_entry) extra += std::string("\x0e\x02", 2) + be32(static_cast<uint32_t>(broker_entry.size())) + std::string(broker_entry);
  extra += std::string("\x0e\x01", 2) + be32(crc32c(covered) ^ (bad_checksum ? 1u : 0u)) + covered;
  const size_t total = 4 + command.size() + extra.size();
  return be32(static_cast<uint32_t>(total)) + be32(static_cast<uint32_t>(command.size())) + std::string(command) + extra;
}

// MessageMetadata{producer_name, sequence_id, publish_time, properties,
// num_messages_in_batch when `batch` > 0}.
inline std::string metadata(std::string_view producer, uint64_t sequence_id, uint64_t publish_time,
                            const Properties& props = {}, int batch = 0) {
  std::string m = len(1, producer) + num(2, sequence_id) + num(3, publish_time) + keyValues(4, props);
  if (batch > 0) m += num(11, static_cast<uint64_t>(batch));
  return m;
}

// One batch entry: size, SingleMessageMetadata{properties, payload_size}, data.
inline std::string batchEntry(const Properties& props, std::string_view data) {
  const std::string single = keyValues(1, props) + num(3, data.size());
  return be32(static_cast<uint32_t>(single.size())) + single + std::string(data);
}

inline std::string messageId(uint64_t ledger, uint64_t entry, int64_t partition = -1, int64_t batch_index = -1) {
  std::string m = num(1, ledger) + num(2, entry);
  if (partition >= 0) m += num(3, static_cast<uint64_t>(partition));
  if (batch_index >= 0) m += num(4, static_cast<uint64_t>(batch_index));
  return m;
}

// Frequently used commands (field numbers of PulsarApi.proto).
inline std::string connect(uint32_t protocol_version, std::string_view proxy_to_broker_url = {}) {
  std::string sub = len(1, "l7conform-synth") + num(4, protocol_version) + len(5, "none");
  if (!proxy_to_broker_url.empty()) sub += len(6, proxy_to_broker_url);
  return frame(2, sub);
}
inline std::string connected(uint32_t protocol_version, uint32_t max_message_size = 5u << 20) {
  return frame(3, len(1, "Pulsar Server") + num(2, protocol_version) + num(3, max_message_size));
}
inline std::string producer(std::string_view topic, uint64_t producer_id, uint64_t request_id) {
  return frame(5, len(1, topic) + num(2, producer_id) + num(3, request_id));
}
inline std::string producerSuccess(uint64_t request_id, std::string_view name) {
  return frame(17, num(1, request_id) + len(2, name));
}
inline std::string subscribe(std::string_view topic, std::string_view subscription, uint64_t consumer_id,
                             uint64_t request_id) {
  return frame(4, len(1, topic) + len(2, subscription) + num(3, 0) + num(4, consumer_id) + num(5, request_id));
}
inline std::string success(uint64_t request_id) { return frame(13, num(1, request_id)); }
inline std::string error(uint64_t request_id, uint32_t code, std::string_view message) {
  return frame(14, num(1, request_id) + num(2, code) + len(3, message));
}
inline std::string send(uint64_t producer_id, uint64_t sequence_id, std::string_view metadata_bytes,
                        std::string_view payload, int num_messages = 1, bool bad_checksum = false) {
  std::string sub = num(1, producer_id) + num(2, sequence_id);
  if (num_messages != 1) sub += num(3, static_cast<uint64_t>(num_messages));
  return payloadFrame(base(6, sub), metadata_bytes, payload, {}, false, bad_checksum);
}
inline std::string sendReceipt(uint64_t producer_id, uint64_t sequence_id, uint64_t ledger, uint64_t entry) {
  return frame(7, num(1, producer_id) + num(2, sequence_id) + len(3, messageId(ledger, entry)));
}
inline std::string sendError(uint64_t producer_id, uint64_t sequence_id, uint32_t code, std::string_view message) {
  return frame(8, num(1, producer_id) + num(2, sequence_id) + num(3, code) + len(4, message));
}
inline std::string message(uint64_t consumer_id, uint64_t ledger, uint64_t entry, std::string_view metadata_bytes,
                           std::string_view payload, std::string_view broker_entry = {}) {
  return payloadFrame(base(9, num(1, consumer_id) + len(2, messageId(ledger, entry))), metadata_bytes, payload,
                      broker_entry, !broker_entry.empty());
}
inline std::string ping() { return frame(18, ""); }
inline std::string pong() { return frame(19, ""); }

}  // namespace l7h::synth::pulsarwire
