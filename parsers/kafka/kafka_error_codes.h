// The error code of a response whose body the mapping table does not use:
// the top-level code where the API has one, else the first entry's
// (first topic, partition, group or coordinator). Read so that a refused
// Metadata or OffsetCommit is not shown as a success (an extension beyond the
// table, golden/mapping/kafka.tsv). Layouts: the Kafka protocol guide.
#pragma once

#include <cstdint>
#include <optional>

#include "kafka/kafka_wire.h"

namespace l7::kafka {

// `r` is positioned after the response header (its tagged fields read).
// nullopt: an API not listed here, or a body that does not read that far.
std::optional<int16_t> firstErrorCode(KafkaReader& r, int16_t api_key, int16_t api_version) noexcept;

}  // namespace l7::kafka
