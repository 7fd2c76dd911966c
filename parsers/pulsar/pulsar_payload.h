// The part of a payload command (SEND, MESSAGE) after its BaseCommand:
// [0x0e02 size BrokerEntryMetadata] 0x0e01 crc32c metadataSize
// MessageMetadata payload, the payload of a batch being entries of
// `size SingleMessageMetadata data`.
#pragma once

#include <cstdint>
#include <string>

#include "l7/byte_reader.h"
#include "l7/record.h"

namespace l7::pulsar {

struct PayloadCaps {
  uint32_t max_properties = 1000;      // KeyValue properties in one metadata
  uint32_t max_batch_entries = 100000;  // entries of one batch
};

struct PayloadResult {
  // Empty when the part decoded; else why not (the record is then status 6).
  std::string error;
  bool checksum_verified = false;  // whole and checked (a cut frame cannot be)
};

// `extra` starts after the BaseCommand; `whole` is false when the frame was
// too large to hold and `extra` is only its prefix (no checksum, no batch
// walk then). Trace ids of the metadata's properties (and, for an
// uncompressed batch, of its entries') go to `fields`.
PayloadResult decodePayload(Bytes extra, bool whole, const PayloadCaps& caps, L7Fields& fields);

// "ledger:entry:partition:batch_index" of a MessageIdData (partition and
// batch index -1 when absent); empty if it does not decode.
std::string messageIdText(Bytes message_id_data);

}  // namespace l7::pulsar
