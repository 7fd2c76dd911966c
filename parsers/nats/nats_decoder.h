// NATS client protocol decoder (see README.md beside this file).
#pragma once

#include "l7/decoder.h"

namespace l7::nats {

const DecoderInfo& natsDecoderInfo();

// Exposed for tests: the first-bytes recognizer.
ProbeVerdict probeNats(Bytes first_bytes) noexcept;

}  // namespace l7::nats
