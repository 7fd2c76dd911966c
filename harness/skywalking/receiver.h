// SkyWalking's REST segment receiver (the OAP's /v3/segment(s) endpoints),
// on Boost.Beast. Kept behind this small interface so Beast's headers are
// compiled in one translation unit only (receiver.cc).
//
//   POST /v3/segment    one SegmentObject     → 200 {}
//   POST /v3/segments   an array of them      → 200 {}
//   a body that does not map                  → 400 {"error": ..., "details": [...]}
//   other paths 404, other methods 405, bodies over the limit 413, a wrong or
//   missing Authentication header (when a token is set) 401.
// Records of an acknowledged body are written and flushed before the 200 is
// sent. stop() (or SIGINT/SIGTERM in serve) stops accepting, lets requests in
// flight finish, and returns from run().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "l7/record.h"

namespace l7h::skywalking {

struct ReceiverOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 12800;  // 0: an ephemeral port (tests)
  size_t body_limit = 8u << 20;
  std::string auth_token;  // empty: no authentication
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds read_timeout{30000};
  bool handle_signals = false;  // SIGINT/SIGTERM stop the server (the serve command)
};

struct ReceiverStats {
  uint64_t requests = 0, accepted = 0, rejected = 0, spans = 0, connections = 0;
};

class Receiver {
 public:
  // `write` receives the records of one body and must have flushed them when
  // it returns (the 200 follows).
  using RecordBatchWriter = std::function<bool(const std::vector<l7::Record>&)>;
  Receiver(ReceiverOptions options, RecordBatchWriter write);
  ~Receiver();
  // Binds and listens; returns false with `error` (e.g. address in use).
  bool listen(std::string& error);
  uint16_t port() const;
  // Serves until stop() (any thread) or a signal.
  void run();
  void stop();
  ReceiverStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace l7h::skywalking
