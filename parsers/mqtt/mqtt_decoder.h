// MQTT 3.1, 3.1.1 and 5.0 decoder (see README.md beside this file).
#pragma once

#include "l7/decoder.h"

namespace l7::mqtt {

const DecoderInfo& mqttDecoderInfo();

// Exposed for tests: only a CONNECT identifies MQTT from first bytes.
ProbeVerdict probeMqtt(Bytes first_bytes) noexcept;

}  // namespace l7::mqtt
