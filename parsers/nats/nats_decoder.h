// NATS client protocol decoder (see README.md beside this file).
#pragma once

#include <cstdint>
#include <memory>

#include "l7/decoder.h"

namespace l7::nats {

const DecoderInfo& natsDecoderInfo();

// Caps only NATS has (DecoderLimits holds those every decoder shares).
struct NatsLimits {
  // Largest HPUB/HMSG header block read for trace context. A larger block
  // (or one that, with its control line, would not fit max_buffered_bytes)
  // makes the message a status-6 record of its own, and the message is
  // passed over unread up to the next operation.
  uint32_t max_header_bytes = 64u << 10;
};

// The decoder natsDecoderInfo().create makes, with NATS caps of one's own.
std::unique_ptr<Decoder> createNatsDecoder(const DecoderLimits& limits, const NatsLimits& nats = {});

// Exposed for tests: the first-bytes recognizer.
ProbeVerdict probeNats(Bytes first_bytes) noexcept;

}  // namespace l7::nats
