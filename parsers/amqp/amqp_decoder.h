// AMQP 0-9-1 decoder (see README.md beside this file).
#pragma once

#include "l7/decoder.h"

namespace l7::amqp {

const DecoderInfo& amqpDecoderInfo();

// Exposed for tests: a protocol header, or a whole method frame of a known
// class and method, identifies AMQP from the first bytes of a side.
ProbeVerdict probeAmqp(Bytes first_bytes) noexcept;

}  // namespace l7::amqp
