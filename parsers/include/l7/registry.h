// The registry: every protocol the library decodes, in probe order.
// The list itself lives in parsers/registry.cc, one line per protocol.
#pragma once

#include <span>
#include <string_view>

#include "l7/decoder.h"

namespace l7 {

std::span<const DecoderInfo> allDecoders() noexcept;

// By key ("kafka") or name ("Kafka"), case-insensitive; nullptr if unknown.
const DecoderInfo* findDecoder(std::string_view key_or_name) noexcept;

}  // namespace l7
