// TOY: the example decoder a new protocol copies (README.md beside this
// file). Not in the production registry; built and tested like the others.
#pragma once

#include "l7/decoder.h"

namespace l7::toy {

const DecoderInfo& toyDecoderInfo();

// Frame types (the wire format is in README.md).
enum class FrameType : uint8_t { kHello = 1, kRequest = 2, kResponse = 3, kNote = 4, kPart = 5 };

// Request operations: what the response body holds.
enum class Op : uint8_t { kStatus = 1, kText = 2 };

}  // namespace l7::toy
