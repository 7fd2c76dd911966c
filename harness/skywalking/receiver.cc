#include "skywalking/receiver.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <list>
#include <mutex>

#include "skywalking/segment_mapper.h"

namespace l7h::skywalking {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

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
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io};
  std::atomic<bool> stopping{false};
  mutable std::mutex stats_mutex;
  ReceiverStats stats;

  // One HTTP/1.1 connection: read a request, answer, repeat while kept alive.
  struct Session : std::enable_shared_from_this<Session> {
    Impl& owner;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::string_body>> parser;
    http::response<http::string_body> response;

    Session(Impl& o, tcp::socket socket) : owner(o), stream(std::move(socket)) {}

    void start() { read(); }

    void read() {
      if (owner.stopping) return close();
      parser.emplace();
      parser->body_limit(owner.options.body_limit);
      stream.expires_after(owner.options.idle_timeout);
      http::async_read(stream, buffer, *parser,
                       [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
    }

    bool busy = false;  // between a complete request and the end of its response

    // On shutdown: a connection waiting for its next request closes now; one
    // in the middle of a request gets a short deadline to finish it.
    void shutdownIfIdle() {
      if (busy) return;
      if (parser && parser->got_some()) {
        stream.expires_after(std::chrono::seconds(2));
      } else {
        close();
      }
    }

    void onRead(beast::error_code ec) {
      if (ec == http::error::body_limit) {
        respond(http::status::payload_too_large, jsonError("body larger than the limit"), false);
        return;
      }
      if (ec) return close();  // end of stream, timeout, a client gone mid-body: nothing to answer
      busy = true;
      handle(parser->release());
    }

    void handle(http::request<http::string_body>&& req) {
      {
        std::lock_guard lock(owner.stats_mutex);
        ++owner.stats.requests;
      }
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
      {
        std::lock_guard lock(owner.stats_mutex);
        owner.stats.spans += mapped.records.size();
        if (mapped.errors.empty()) {
          ++owner.stats.accepted;
        } else {
          ++owner.stats.rejected;
        }
      }
      if (!mapped.errors.empty()) {
        return respond(http::status::bad_request, jsonError("some segments could not be mapped", mapped.errors,
                                                            mapped.records.size()),
                       keep);
      }
      respond(http::status::ok, "{}", keep);  // the OAP answers an empty Commands
    }

    void respond(http::status status, std::string body, bool keep_alive) {
      response.result(status);
      response.version(11);
      response.set(http::field::server, "l7conform");
      response.set(http::field::content_type, "application/json");
      response.keep_alive(keep_alive && !owner.stopping);
      response.body() = std::move(body);
      response.prepare_payload();
      stream.expires_after(owner.options.read_timeout);
      http::async_write(stream, response, [self = shared_from_this()](beast::error_code ec, size_t) {
        self->busy = false;
        if (ec || !self->response.keep_alive()) return self->close();
        self->response = {};
        self->read();
      });
    }

    void close() {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
    }
  };

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed by stop()
      {
        std::lock_guard lock(stats_mutex);
        ++stats.connections;
      }
      auto session = std::make_shared<Session>(*this, std::move(socket));
      sessions.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
      sessions.push_back(session);
      session->start();
      accept();
    });
  }

  void beginStop() {
    if (stopping.exchange(true)) return;
    beast::error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
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
  if (impl_->options.handle_signals) {
    impl_->signals.add(SIGINT);
    impl_->signals.add(SIGTERM);
    impl_->signals.async_wait([this](beast::error_code ec, int) {
      if (!ec) impl_->beginStop();
    });
  }
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

}  // namespace l7h::skywalking
