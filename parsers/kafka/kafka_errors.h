// Kafka error codes → the English description Kafka documents for them
// (https://kafka.apache.org/protocol#protocol_error_codes; the texts are
// those of org.apache.kafka.common.protocol.Errors as of Kafka 4.1).
#pragma once

#include <cstdint>
#include <string_view>

namespace l7::kafka {

// Empty for 0 (no error) and for codes Kafka does not define.
std::string_view errorDescription(int16_t code) noexcept;
// The symbolic name (UNKNOWN_TOPIC_OR_PARTITION); empty when unknown.
std::string_view errorName(int16_t code) noexcept;

}  // namespace l7::kafka
