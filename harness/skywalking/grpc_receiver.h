// SkyWalking's gRPC segment receiver (what the language agents speak, port
// 11800 by convention), on gRPC C++. Kept behind this small interface so
// gRPC's headers are compiled in one translation unit only (grpc_receiver.cc).
//
//   skywalking.v3.TraceSegmentReportService/collect        a stream of SegmentObject → empty Commands
//   skywalking.v3.TraceSegmentReportService/collectInSync  one SegmentCollection     → empty Commands
//   (and the package-less /TraceSegmentReportService/... paths of the old compat proto)
//   skywalking.v3.ManagementService/reportInstanceProperties, keepAlive → empty Commands, no records
//   any other method (meter, log, profile, JVM metrics, ...)         → UNIMPLEMENTED at once, counted
//
// Every segment is mapped by the same code as the HTTP receiver and
// `l7conform skywalking` (mapSegmentValues), so a segment gives the same
// records whichever way it arrives. A stream's segments are mapped, written
// and flushed one message at a time, as they arrive; a collection is mapped
// as a whole, like a /v3/segments body.
//
// Errors (the gRPC status of the call):
//   INVALID_ARGUMENT   a message that is not protobuf of the expected type, or
//                      a segment that does not map; the other segments of the
//                      call are still mapped and written, the message says which
//                      failed and why
//   RESOURCE_EXHAUSTED a message over the size limit (gRPC's own check), or a
//                      call over the stream or connection cap
//   UNAUTHENTICATED    a token is set and the call's `authentication` metadata
//                      (the agents' Authentication) is missing or different
//   DEADLINE_EXCEEDED  a stream with no message for the idle timeout
//   UNIMPLEMENTED      a method this receiver does not serve
// shutdown() stops taking calls, lets open streams finish for the drain
// timeout, then cancels what is left; every segment read by then is written.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "skywalking/receiver.h"

namespace l7h::skywalking {

struct GrpcReceiverOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 11800;  // 0: an ephemeral port (tests)
  size_t message_limit = 8u << 20;
  std::string auth_token;  // empty: no authentication
  // A stream that sends no message for this long is ended; a connection
  // with no call for this long is closed.
  std::chrono::milliseconds idle_timeout{30000};
  // Calls in flight at once, over all connections (and per connection,
  // advertised in HTTP/2 SETTINGS so clients queue instead of failing).
  size_t max_streams = 512;
  // Connections with calls in flight at once (told apart by peer address).
  // gRPC 1.51 has no cap at accept time: a connection over the cap gets
  // RESOURCE_EXHAUSTED at its first call, and one without calls is closed
  // after the idle timeout.
  size_t max_connections = 512;
  // Of those, at most this many from one client address (the host part of
  // the peer), so one client cannot take every slot; its connection over the
  // share gets RESOURCE_EXHAUSTED at its first call.
  size_t max_connections_per_address = 64;
  std::chrono::milliseconds drain_timeout{5000};
};

struct GrpcReceiverStats {
  uint64_t calls = 0;          // every call, whatever its method
  uint64_t segments = 0;       // segments read (protobuf that parsed)
  uint64_t spans = 0;          // records written
  uint64_t bad_protobuf = 0;   // messages (or collection entries) that were not a SegmentObject
  uint64_t map_errors = 0;     // segments or spans that did not map (as the HTTP receiver's 400 details)
  uint64_t management = 0;     // reportInstanceProperties, keepAlive
  uint64_t unauthenticated = 0, over_limit = 0, idle_timeouts = 0;
  uint64_t unimplemented = 0;
  std::map<std::string, uint64_t> unimplemented_methods;  // method path → calls
};

class GrpcReceiver {
 public:
  // Same contract as the HTTP receiver's: the records of one message (or one
  // collection), flushed when it returns; it may be called from several
  // gRPC threads at once, so it must serialize itself.
  GrpcReceiver(GrpcReceiverOptions options, Receiver::RecordBatchWriter write);
  ~GrpcReceiver();
  // Binds and starts serving on gRPC's own threads; false with `error`.
  bool start(std::string& error);
  uint16_t port() const;
  // Stops taking calls, drains (drain_timeout), cancels the rest; returns
  // when every call has ended. Idempotent.
  void shutdown();
  // Calls in flight now (tests wait on it; the server counts it anyway).
  size_t activeCalls() const;
  GrpcReceiverStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace l7h::skywalking
