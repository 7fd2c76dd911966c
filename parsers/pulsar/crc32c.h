// CRC32C (Castagnoli), the checksum of Pulsar's payload commands.
#pragma once

#include <cstdint>

#include "l7/byte_reader.h"

namespace l7::pulsar {

uint32_t crc32c(Bytes data) noexcept;

}  // namespace l7::pulsar
