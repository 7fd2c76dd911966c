// Kafka decoder (see README.md beside this file).
#pragma once

#include "l7/decoder.h"

namespace l7::kafka {

const DecoderInfo& kafkaDecoderInfo();

// Exposed for tests: the first-bytes recognizer (a plausible request header).
ProbeVerdict probeKafka(Bytes first_bytes) noexcept;

}  // namespace l7::kafka
