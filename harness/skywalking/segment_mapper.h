// SkyWalking SegmentObject JSON → l7_flow_log records, by the published
// table (../shared/spec/skywalking-mapping.md; details and the choices made
// where it is silent: harness/skywalking/README.md, golden/mapping/skywalking.tsv).
//
// Input is what SkyWalking's HTTP API takes (POST /v3/segment: one object;
// /v3/segments: an array), read with ProtoJSON leniency: enums as names or
// numbers, int64 as number or string, omitted defaults, unknown keys
// ignored, null as unset. One record (type 2) per span. Bad input is
// reported per segment and span; the other segments of the body still map.
// Never throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "l7/record.h"

namespace l7h::skywalking {

struct MapError {
  std::string where;   // e.g. "segment 2 (id 3f2a...), span 3: refs[0].parentSpanId"
  std::string reason;
};

struct MapResult {
  std::vector<l7::Record> records;  // ordered by start_time, then segment order, then span order
  std::vector<MapError> errors;
};

// Bounds on what one body may hold (a hostile sender cannot inflate memory).
struct MapLimits {
  size_t max_body_bytes = 64u << 20;
  size_t max_spans_per_segment = 10000;
  size_t max_tags_per_span = 1000;
  size_t max_depth = 32;
};

MapResult mapSegmentsJson(std::string_view body, const MapLimits& limits = {});

// The same mapping for segments already held as Boost.JSON values, in the
// shape of the JSON above (the gRPC receiver turns protobuf into it, so one
// mapper serves every transport and the records cannot differ).
// `first_number` is the number the first segment gets in error messages.
MapResult mapSegmentValues(const boost::json::array& segments, const MapLimits& limits = {},
                           size_t first_number = 1);

// DeepFlow's l7_protocol number for a protocol name from a tag (HTTP 20,
// MySQL 60, Kafka 100, ...), 0 when unknown; `canonical` receives the name.
int l7ProtocolFor(std::string_view name, std::string& canonical);

}  // namespace l7h::skywalking
