// OpenWire (ActiveMQ) decoder (see README.md beside this file).
#pragma once

#include "l7/decoder.h"

namespace l7::openwire {

const DecoderInfo& openwireDecoderInfo();

// Exposed for tests: a size-prefixed loose WireFormatInfo with the magic.
ProbeVerdict probeOpenWire(Bytes first_bytes) noexcept;

}  // namespace l7::openwire
