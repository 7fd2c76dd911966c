// Apache Pulsar binary protocol decoder (see README.md beside this file).
#pragma once

#include "l7/decoder.h"

namespace l7::pulsar {

const DecoderInfo& pulsarDecoderInfo();

// Exposed for tests: a first frame whose BaseCommand decodes whole, with
// its required fields, names the side that sent it.
ProbeVerdict probePulsar(Bytes first_bytes) noexcept;

// Pulsar's default maxMessageSize (5 MiB) plus the frame padding its broker
// allows on top (Commands.MESSAGE_SIZE_FRAME_PADDING, 10 KiB): the frame cap
// until a CONNECTED names the broker's own max_message_size.
inline constexpr uint64_t kDefaultMaxMessageSize = 5u << 20;
inline constexpr uint64_t kFramePadding = 10u << 10;

}  // namespace l7::pulsar
