// SkyWalking's REST segment receiver (the OAP's /v3/segment(s) endpoints),
// on Boost.Beast. Kept behind this small interface so Beast's headers are
// compiled in one translation unit only (receiver.cc).
//
//   POST /v3/segment    one SegmentObject     → 200 {}
//   POST /v3/segments   an array of them      → 200 {}
//   a body that does not map                  → 400 {"error": ..., "details": [...]}
//   other paths 404, other methods 405, bodies over the limit 413, a wrong or
//   missing Authentication header (when a token is set) 401, malformed HTTP
//   400, a header over Beast's 8 KiB limit 431, a request not whole within
//   the read timeout 408, connections over the cap, or over one client
//   address's share of it, 503.
// Records of an acknowledged body are written and flushed before the 200 is
// sent. stop() (serve calls it on SIGINT/SIGTERM) stops accepting, lets
// requests in flight finish, and returns from run().
//
// Timeouts, each a deadline for one phase of a connection's life:
//   idle   waiting for the first byte of a request (a new connection or a
//          kept-alive one between requests): on expiry the connection is
//          closed without a response — no request was started, so there is
//          nothing to answer, and a client about to reuse it sees a clean close.
//   read   from a request's first byte until its header and body are whole:
//          on expiry 408 and close. A total deadline, not an inactivity
//          timer, so a client trickling one byte a second cannot hold a
//          connection and its buffer forever (slowloris).
//   write  sending one response: on expiry the connection is closed.
//
// One client must not take the whole receiver: a client address holds at
// most max_connections_per_address connections, and once more than half of
// max_connections are open the idle timeout shrinks with the room left, down
// to kMinIdleTimeout at the cap (connections already idle are shortened too),
// so idle connections give way to clients with requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "l7/record.h"

namespace l7h::skywalking {

struct ReceiverOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 12800;  // 0: an ephemeral port (tests)
  size_t body_limit = 8u << 20;
  std::string auth_token;  // empty: no authentication
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  // With body_limit this bounds memory (connections x body limit); the
  // default stays under the usual 1024 open-file limit.
  size_t max_connections = 512;
  // Connections one client address may hold at once (503 beyond): an eighth
  // of the default cap, so a single client cannot take the receiver.
  size_t max_connections_per_address = 64;
};

// The idle timeout at the cap (or the configured one, when shorter).
inline constexpr std::chrono::milliseconds kMinIdleTimeout{1000};

// The idle timeout for `open` connections of `cap`: the configured one up to
// half the cap, then shrinking linearly with the room left, to
// kMinIdleTimeout at the cap.
std::chrono::milliseconds idleTimeoutUnderLoad(std::chrono::milliseconds configured, size_t open, size_t cap);

struct ReceiverStats {
  uint64_t requests = 0, accepted = 0, rejected = 0, spans = 0, connections = 0;
  uint64_t timeouts = 0;  // 408s sent
  uint64_t over_address_share = 0;  // 503s to a client address at max_connections_per_address
};

// serve's --listen: "HOST:PORT" with an IPv4 literal, "[V6]:PORT" with an IPv6
// one; port 0..65535 (0 picks a free port). Returns false with a one-line
// `error` that says what is wrong and what is expected.
bool parseListenAddress(std::string_view text, std::string& host, uint16_t& port, std::string& error);

// serve's timeouts: "500ms", "30s", "2m", or a bare number of seconds;
// positive and at most 24 h. Returns false with a one-line `error`.
bool parseTimeout(std::string_view text, std::chrono::milliseconds& out, std::string& error);

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
  // Serves until stop() (any thread).
  void run();
  void stop();
  ReceiverStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace l7h::skywalking
