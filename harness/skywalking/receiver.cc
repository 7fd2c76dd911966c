#include "skywalking/receiver.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <charconv>
#include <list>
#include <map>
#include <mutex>

#include "skywalking/segment_mapper.h"

namespace l7h::skywalking {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = 4096;
// What a request caught mid-read by shutdown still gets to finish.
constexpr std::chrono::milliseconds kShutdownGrace{2000};
constexpr std::string_view kShutdownReason = "server shutting down; request not complete in time";
// How long, and how much, a closing connection is drained (lingerThenClose).
constexpr auto kLinger = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 1u << 20;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

// Built by appending: GCC 12 misreports `"'" + std::string(...)` (-Wrestrict).
std::string quote(std::string_view text) {
  std::string q;
  q.reserve(text.size() + 2);
  q += '\'';
  q += text;
  q += '\'';
  return q;
}

std::string jsonError(std::string_view message, const std::vector<MapError>& details = {}, size_t mapped = 0) {
  boost::json::object o;
  o["error"] = message;
  if (!details.empty()) {
    boost::json::array a;
    for (const auto& d : details) a.push_back(boost::json::value(d.where + ": " + d.reason));
    o["details"] = std::move(a);
    o["mapped_spans"] = mapped;
  }
  return boost::json::serialize(o);
}

}  // namespace

struct Receiver::Impl {
  ReceiverOptions options;
  RecordBatchWriter write;
  // Declared before io: sessions held by handlers io never ran are
  // destroyed with io, and their destructors still count down here.
  std::atomic<size_t> live_sessions{0};
  // Sessions being served (not the ones answered 503), in all and per client
  // address; touched on the io thread only.
  size_t admitted = 0;
  std::map<asio::ip::address, size_t> per_address;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::atomic<bool> stopping{false};
  mutable std::mutex stats_mutex;
  ReceiverStats stats;

  void count(uint64_t ReceiverStats::*field, uint64_t n = 1) {
    std::lock_guard lock(stats_mutex);
    stats.*field += n;
  }

  // One HTTP/1.1 connection: wait for a request (idle timeout), read it whole
  // (read timeout), answer (write timeout), repeat while kept alive.
  struct Session : std::enable_shared_from_this<Session> {
    enum class Phase { kIdle, kReading, kBusy, kClosing };

    Impl& owner;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::string_body>> parser;
    http::response<http::string_body> response;
    http::response<http::empty_body> interim{http::status::continue_, 11};
    // The idle and read deadlines are this timer rather than the stream's
    // own expiry: the stream closes the socket when its expiry fires, and a
    // 408 needs the socket still open; and a pending read's expiry cannot be
    // moved, while an idle one is shortened as the receiver fills up.
    asio::steady_timer read_timer;
    std::chrono::steady_clock::time_point read_deadline;
    std::optional<asio::ip::address> admitted_from;  // set while counted in `admitted`
    uint64_t timer_generation = 0;  // lets a stale, already-queued expiry know it is stale
    std::string_view timeout_reason;  // set when the read timer cut a request short
    Phase phase = Phase::kIdle;
    size_t lingered = 0;

    Session(Impl& o, tcp::socket socket)
        : owner(o), stream(std::move(socket)), read_timer(stream.get_executor()) {
      ++owner.live_sessions;
    }
    ~Session() {
      --owner.live_sessions;
      if (admitted_from) owner.release(*admitted_from);
    }

    void start(const asio::ip::address& from) {
      admitted_from = from;
      ++owner.admitted;
      ++owner.per_address[from];
      read();
    }

    // Over the connection cap (or the client's share): answer 503 without
    // reading, so the client learns why instead of seeing a reset.
    void reject(std::string_view why) {
      response.set(http::field::retry_after, "1");
      respond(http::status::service_unavailable, jsonError(why), false);
    }

    // Bytes already here (buffered or in the socket) are a request that has
    // started, which shutdown lets finish within the grace.
    bool requestStarted() {
      beast::error_code ec;
      return buffer.size() > 0 || (stream.socket().available(ec) > 0 && !ec);
    }

    void read() {
      if (owner.stopping && !requestStarted()) return close();
      parser.emplace();
      parser->body_limit(owner.options.body_limit);
      timeout_reason = {};
      if (buffer.size() > 0) return startRequest();  // a pipelined request is already here
      phase = Phase::kIdle;
      stream.expires_never();
      armReadTimer(owner.idleTimeout(), {});
      stream.async_read_some(buffer.prepare(kReadChunk),
                             [self = shared_from_this()](beast::error_code ec, size_t n) {
                               self->buffer.commit(n);
                               // Idle timeout, the client closed, or shutdown: no request
                               // was started, so there is nothing to answer.
                               if (ec) return self->close();
                               self->startRequest();
                             });
    }

    // The first byte of a request is here: from now on it must be whole
    // within the read timeout.
    void startRequest() {
      phase = Phase::kReading;
      stream.expires_never();
      if (owner.stopping && owner.options.read_timeout > kShutdownGrace) {
        armReadTimer(kShutdownGrace, kShutdownReason);
      } else {
        armReadTimer(owner.options.read_timeout, "request not complete within the read timeout");
      }
      http::async_read_header(stream, buffer, *parser,
                              [self = shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
    }

    void onHeader(beast::error_code ec) {
      if (ec) return onReadError(ec);
      // A client that asked may wait (curl: 1 s) for this before it sends a
      // large body; the body limit was already checked against Content-Length.
      if (!parser->is_done() && beast::iequals(parser->get()[http::field::expect], "100-continue")) {
        stream.expires_after(owner.options.write_timeout);
        http::async_write(stream, interim, [self = shared_from_this()](beast::error_code write_ec, size_t) {
          if (write_ec) return self->onReadError(write_ec);
          self->readBody();
        });
        return;
      }
      readBody();
    }

    void readBody() {
      stream.expires_never();
      http::async_read(stream, buffer, *parser,
                       [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
    }

    void armReadTimer(std::chrono::milliseconds after, std::string_view reason) {
      const uint64_t generation = ++timer_generation;
      read_deadline = std::chrono::steady_clock::now() + after;
      read_timer.expires_at(read_deadline);
      read_timer.async_wait([self = shared_from_this(), generation, reason](beast::error_code ec) {
        if (ec || generation != self->timer_generation) return;
        if (self->phase == Phase::kIdle) {
          // The pending read ends with an error and closes; a read that
          // completed just before is a request, and it goes on.
          beast::error_code ignored;
          self->stream.socket().cancel(ignored);
          return;
        }
        if (self->phase != Phase::kReading) return;
        self->timeout_reason = reason;
        self->stream.cancel();  // the pending read or 100-continue write ends with operation_aborted
      });
    }

    void disarmReadTimer() {
      ++timer_generation;
      read_timer.cancel();  // a pending wait would keep the session (and run()) alive
    }

    // The receiver filled up: an idle wait ends by `deadline` at the latest.
    void shortenIdle(std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds after) {
      if (phase == Phase::kIdle && read_deadline > deadline) armReadTimer(after, {});
    }

    // On shutdown: a connection waiting for its next request closes now; one
    // in the middle of a request gets at most a short grace to finish it.
    void shutdownIfIdle() {
      if (phase == Phase::kIdle) {
        // The pending read completes with bytes already waiting, and
        // startRequest() gives that request the grace. Cancelled rather than
        // closed: the read may have completed already, its handler queued
        // with bytes this check cannot see; cancelling does not undo that,
        // and a read still waiting ends with an error and closes.
        if (requestStarted()) return;
        beast::error_code ignored;
        stream.socket().cancel(ignored);
        return;
      }
      if (phase == Phase::kReading && read_deadline - std::chrono::steady_clock::now() > kShutdownGrace) {
        armReadTimer(kShutdownGrace, kShutdownReason);
      }
      // kBusy: the response goes out with Connection: close. kClosing: bounded by the linger.
    }

    void onRead(beast::error_code ec) {
      if (ec) return onReadError(ec);
      // A complete request is served even if the timer fired just after it
      // arrived (its expiry handler may already be queued).
      disarmReadTimer();
      phase = Phase::kBusy;
      handle(parser->release());
    }

    void onReadError(beast::error_code ec) {
      disarmReadTimer();
      if (!timeout_reason.empty()) {
        owner.count(&ReceiverStats::timeouts);
        return respond(http::status::request_timeout, jsonError(timeout_reason), false);
      }
      if (ec == http::error::body_limit) {
        return respond(http::status::payload_too_large,
                       jsonError("body larger than the limit (" + std::to_string(owner.options.body_limit) + " bytes)"),
                       false);
      }
      if (ec == http::error::header_limit) {
        return respond(http::status::request_header_fields_too_large, jsonError("request header too large"), false);
      }
      // The client left mid-request (partial_message, end_of_stream) or the
      // socket failed: nobody to answer. Any other HTTP error is bad syntax.
      if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        return respond(http::status::bad_request, jsonError("malformed HTTP request: " + ec.message()), false);
      }
      close();
    }

    void handle(http::request<http::string_body>&& req) {
      owner.count(&ReceiverStats::requests);
      const bool keep = req.keep_alive();
      const std::string_view target = req.target();
      const std::string_view path = target.substr(0, target.find('?'));
      if (path != "/v3/segment" && path != "/v3/segments") {
        return respond(http::status::not_found, jsonError("no such endpoint; POST /v3/segment or /v3/segments"), keep);
      }
      if (req.method() != http::verb::post) {
        response.set(http::field::allow, "POST");
        return respond(http::status::method_not_allowed, jsonError("only POST is accepted"), keep);
      }
      if (!owner.options.auth_token.empty() && req[http::field::authorization] != owner.options.auth_token &&
          req["Authentication"] != owner.options.auth_token) {
        return respond(http::status::unauthorized, jsonError("missing or wrong Authentication token"), keep);
      }
      const std::string& body = req.body();
      // /v3/segment takes one object, /v3/segments an array.
      const size_t first = body.find_first_not_of(" \t\r\n");
      const bool is_array = first != std::string::npos && body[first] == '[';
      if ((path == "/v3/segment") == is_array) {
        return respond(http::status::bad_request,
                       jsonError(path == "/v3/segment" ? "/v3/segment takes one SegmentObject"
                                                       : "/v3/segments takes an array of SegmentObject"),
                       keep);
      }
      MapResult mapped = mapSegmentsJson(body);
      // What maps is kept (and flushed) even when other segments of the body
      // are bad: an acknowledged span is never lost, a bad one is reported.
      if (!mapped.records.empty() && !owner.write(mapped.records)) {
        return respond(http::status::internal_server_error, jsonError("cannot write records"), keep);
      }
      owner.count(&ReceiverStats::spans, mapped.records.size());
      owner.count(mapped.errors.empty() ? &ReceiverStats::accepted : &ReceiverStats::rejected);
      if (!mapped.errors.empty()) {
        return respond(http::status::bad_request, jsonError("some segments could not be mapped", mapped.errors,
                                                            mapped.records.size()),
                       keep);
      }
      respond(http::status::ok, "{}", keep);  // the OAP answers an empty Commands
    }

    void respond(http::status status, std::string body, bool keep_alive) {
      phase = Phase::kBusy;
      response.result(status);
      response.version(11);
      response.set(http::field::server, "l7conform");
      response.set(http::field::content_type, "application/json");
      response.keep_alive(keep_alive && !owner.stopping);
      response.body() = std::move(body);
      response.prepare_payload();
      stream.expires_after(owner.options.write_timeout);
      http::async_write(stream, response, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->close();
        if (!self->response.keep_alive()) return self->lingerThenClose();
        self->response = {};
        self->read();
      });
    }

    // After a closing response the client may still be sending (the rest of
    // a 413'd body, a request we did not read): closing with that unread
    // makes the kernel reset the connection, and a reset can destroy the
    // response before the client reads it. So close in stages (RFC 9112
    // section 9.6): stop sending, read and discard until the client closes,
    // for a bounded time and byte count, then close.
    void lingerThenClose() {
      phase = Phase::kClosing;
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      buffer.consume(buffer.size());
      stream.expires_after(kLinger);
      drain();
    }

    void drain() {
      stream.async_read_some(buffer.prepare(kReadChunk), [self = shared_from_this()](beast::error_code ec, size_t n) {
        self->lingered += n;
        if (ec || self->lingered > kLingerBytes) return self->close();
        self->drain();
      });
    }

    void close() {
      phase = Phase::kClosing;
      disarmReadTimer();
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
    }
  };

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) return;  // closed by stop()
        // EMFILE, ECONNABORTED, ...: keep serving. A pause, because a full
        // file table fails again at once and would spin.
        accept_retry.expires_after(kAcceptRetry);
        accept_retry.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec && !stopping) accept();
        });
        return;
      }
      adopt(std::move(socket));
      accept();
    });
  }

  void adopt(tcp::socket socket) {
    count(&ReceiverStats::connections);
    beast::error_code ec;
    const asio::ip::address from = socket.remote_endpoint(ec).address();
    auto session = std::make_shared<Session>(*this, std::move(socket));
    sessions.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
    // 503s take no request and close within the linger, but a flood of
    // them is still sockets: past twice the cap, connections are closed
    // at once, unanswered.
    if (live_sessions > 2 * options.max_connections) return session->close();
    sessions.push_back(session);
    if (admitted >= options.max_connections) return session->reject("too many connections; retry later");
    if (auto it = per_address.find(from); it != per_address.end() && it->second >= options.max_connections_per_address) {
      count(&ReceiverStats::over_address_share);
      return session->reject("too many connections from this address; retry later");
    }
    session->start(from);
    shortenIdleTimeouts();
  }

  std::chrono::milliseconds idleTimeout() const {
    return idleTimeoutUnderLoad(options.idle_timeout, admitted, options.max_connections);
  }

  // Past half the cap, connections that were idle under a longer timeout
  // get the current, shorter one.
  void shortenIdleTimeouts() {
    const std::chrono::milliseconds after = idleTimeout();
    if (after >= options.idle_timeout) return;
    const auto deadline = std::chrono::steady_clock::now() + after;
    for (auto& weak : sessions) {
      if (auto session = weak.lock()) session->shortenIdle(deadline, after);
    }
  }

  void release(const asio::ip::address& from) {
    --admitted;
    if (auto it = per_address.find(from); it != per_address.end() && --it->second == 0) per_address.erase(it);
  }

  void beginStop() {
    if (stopping.exchange(true)) return;
    beast::error_code ignored;
    // Connections the kernel completed before the stop are clients that
    // already connected (and may have sent a request): take them before the
    // acceptor closes, else closing resets them. stop() can come from
    // another thread ahead of the accept handler for them.
    acceptor.non_blocking(true, ignored);
    for (int i = 0; i < asio::socket_base::max_listen_connections; ++i) {
      tcp::socket socket(asio::make_strand(io));
      acceptor.accept(socket, ignored);
      if (ignored) break;
      adopt(std::move(socket));
    }
    acceptor.close(ignored);
    accept_retry.cancel();
    for (auto& weak : sessions) {
      if (auto session = weak.lock()) session->shutdownIfIdle();
    }
  }

  std::list<std::weak_ptr<Session>> sessions;  // touched on the io thread only
};

Receiver::Receiver(ReceiverOptions options, RecordBatchWriter write) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->write = std::move(write);
}

Receiver::~Receiver() = default;

bool Receiver::listen(std::string& error) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) {
    error = "bad listen address '" + impl_->options.host + "'";
    return false;
  }
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = impl_->options.host + ":" + std::to_string(impl_->options.port) + ": " + ec.message();
    return false;
  }
  return true;
}

uint16_t Receiver::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void Receiver::run() {
  impl_->accept();
  impl_->io.run();
}

void Receiver::stop() {
  asio::post(impl_->io, [this] { impl_->beginStop(); });
}

ReceiverStats Receiver::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

std::chrono::milliseconds idleTimeoutUnderLoad(std::chrono::milliseconds configured, size_t open, size_t cap) {
  const size_t half = cap / 2;
  if (open <= half) return configured;
  const std::chrono::milliseconds floor = std::min(configured, kMinIdleTimeout);
  const size_t room = open >= cap ? 0 : cap - open;
  const auto scaled = std::chrono::milliseconds(configured.count() * static_cast<int64_t>(room) /
                                                static_cast<int64_t>(cap - half));
  return std::max(floor, scaled);
}

bool parseListenAddress(std::string_view text, std::string& host, uint16_t& port, std::string& error) {
  const std::string quoted = quote(text);
  std::string_view host_part, port_part;
  beast::error_code ec;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = quoted + ": expected [IPV6]:PORT, e.g. [::1]:12800";
      return false;
    }
    host_part = text.substr(1, close - 1);
    port_part = text.substr(close + 2);
    asio::ip::make_address_v6(std::string(host_part), ec);
    if (ec) {
      error = quoted + ": '" + std::string(host_part) + "' is not an IPv6 address";
      return false;
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      error = quoted + ": expected HOST:PORT, e.g. 127.0.0.1:12800";
      return false;
    }
    host_part = text.substr(0, colon);
    port_part = text.substr(colon + 1);
    if (host_part.find(':') != std::string_view::npos) {
      error = quoted + ": an IPv6 address goes in brackets, e.g. [::1]:12800";
      return false;
    }
    asio::ip::make_address_v4(std::string(host_part), ec);
    if (ec) {
      // Names are not resolved: which of a name's addresses to bind is a
      // guess, and the receiver should listen exactly where it is told.
      error = quoted + ": '" + std::string(host_part) +
              "' is not an IPv4 address (names are not resolved; e.g. 127.0.0.1, 0.0.0.0, [::1])";
      return false;
    }
  }
  unsigned value = 0;
  const auto [end, errc] = std::from_chars(port_part.data(), port_part.data() + port_part.size(), value);
  if (port_part.empty() || errc != std::errc() || end != port_part.data() + port_part.size() || value > 65535) {
    error = quoted + ": port '" + std::string(port_part) + "' is not a number from 0 to 65535";
    return false;
  }
  host = std::string(host_part);
  port = static_cast<uint16_t>(value);
  return true;
}

bool parseTimeout(std::string_view text, std::chrono::milliseconds& out, std::string& error) {
  int64_t value = 0;
  const auto [end, errc] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string_view unit = text.substr(static_cast<size_t>(end - text.data()));
  int64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  }
  constexpr int64_t kMaxMs = 24 * 3600 * 1000LL;
  if (errc != std::errc() || scale == 0 || value <= 0 || value > kMaxMs / scale) {
    error = quote(text) + " is not a timeout: expected e.g. 500ms, 30s, 2m (a bare number is seconds), "
            "more than 0 and at most 24 h";
    return false;
  }
  out = std::chrono::milliseconds(value * scale);
  return true;
}

}  // namespace l7h::skywalking
