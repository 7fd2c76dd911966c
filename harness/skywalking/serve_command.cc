// l7conform serve: SkyWalking's receivers (gRPC, as the agents report, and
// the REST API); records of both to one JSON Lines file.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "output/record_writer.h"
#include "skywalking/receiver.h"
#ifdef L7_HAVE_GRPC
#include "skywalking/grpc_receiver.h"
#endif

namespace l7h::cli {

namespace {

std::string hostPort(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

}  // namespace

int serveCommand(Args args) {
  std::string listen = "127.0.0.1:12800";
  std::string grpc_listen = "127.0.0.1:11800";
  bool no_http = false, no_grpc = false;
  std::string output = "-";
  std::string token;
  int64_t body_limit_mib = 8;
  int64_t max_connections = 512;
  int64_t max_per_address = 64;
  int64_t max_streams = 512;
  std::string idle_timeout = "30s";
  std::string read_timeout = "30s";
  ArgParser p("serve",
              "[--grpc HOST:PORT | --no-grpc] [--listen HOST:PORT | --no-http] [-o FILE] [--auth-token TOKEN] "
              "[--idle-timeout T] [--read-timeout T]",
              "Receives SkyWalking trace segments the two ways the SkyWalking OAP does and writes one l7_flow_log\n"
              "record per span, both into the same output:\n"
              "  gRPC (--grpc, default 127.0.0.1:11800): what the language agents (Java, Node.js, Python, Go, ...)\n"
              "      report by default. skywalking.v3.TraceSegmentReportService collect (a stream of SegmentObject)\n"
              "      and collectInSync (a SegmentCollection), answered with an empty Commands; ManagementService\n"
              "      (reportInstanceProperties, keepAlive) answered too, without records; any other service (meter,\n"
              "      log, profile, ...) gets UNIMPLEMENTED at once and is counted.\n"
              "  HTTP (--listen, default 127.0.0.1:12800): POST /v3/segment with one SegmentObject, POST /v3/segments\n"
              "      with an array; 200 {} on success.\n"
              "Either can be turned off (--no-grpc, --no-http), not both. A segment gives the same records whichever\n"
              "way it comes. Records are flushed before the call is answered: a stream's segments as each arrives.\n"
              "SIGINT/SIGTERM stop taking calls, let open requests and streams finish (HTTP 2 s, gRPC 5 s), flush\n"
              "and exit 0. Point an agent at it, e.g. SW_AGENT_COLLECTOR_BACKEND_SERVICES=127.0.0.1:11800.\n"
              "\n"
              "gRPC errors: INVALID_ARGUMENT (a message that is not a SegmentObject, or a segment that does not map;\n"
              "the other segments of the call are still written), UNAUTHENTICATED (token), RESOURCE_EXHAUSTED\n"
              "(message over the limit, stream or connection cap), DEADLINE_EXCEEDED (a stream quiet for the idle\n"
              "timeout), UNIMPLEMENTED (other services).\n"
              "HTTP errors: 400 (body does not map, with per-segment details; malformed HTTP), 401 (token),\n"
              "404 (path), 405 (method), 408 (read timeout), 413 (body limit), 503 (connection cap, or the\n"
              "client address's share of it).\n"
              "\n"
              "One client cannot take the HTTP receiver: a client address holds at most\n"
              "--max-connections-per-address connections (default 64, an eighth of the cap); more get 503. Once\n"
              "more than half of --max-connections are open, the idle timeout shrinks with the room left, to 1s\n"
              "at the cap (connections already idle get the shorter one too), so idle connections make way.\n"
              "\n"
              "Two timeouts guard a connection (T is 500ms, 30s, 2m, or a bare number of seconds):\n"
              "  --idle-timeout  how long a connection may wait before a request starts, whether new or\n"
              "                  kept alive between requests; then it is closed without a response. For gRPC,\n"
              "                  how long a stream may go without a message (then DEADLINE_EXCEEDED) and a\n"
              "                  connection without a call (then closed).\n"
              "  --read-timeout  (HTTP) how long a request has, from its first byte, until its header and whole\n"
              "                  body have arrived; then 408 and close. A total, not an inactivity timer:\n"
              "                  a client trickling bytes cannot hold a connection open. With the 8 MiB\n"
              "                  limit, 30s admits clients down to ~280 KB/s; raise it for slow links.");
  p.option("--grpc", &grpc_listen, "HOST:PORT",
           "gRPC listener: IPv4 HOST:PORT or [IPv6]:PORT; port 0: any free one (default 127.0.0.1:11800)");
  p.flag("--no-grpc", &no_grpc, "no gRPC listener (HTTP only)");
  p.option("--listen", &listen, "HOST:PORT",
           "HTTP listener: IPv4 HOST:PORT or [IPv6]:PORT; port 0: any free one (default 127.0.0.1:12800)");
  p.flag("--no-http", &no_http, "no HTTP listener (gRPC only)");
  p.option("-o", &output, "FILE", "write records here (default stdout)");
  p.option("--auth-token", &token, "TOKEN",
           "require this token in the Authentication header or gRPC metadata (else 401 / UNAUTHENTICATED)");
  p.option("--body-limit-mib", &body_limit_mib, "MIB",
           "largest HTTP body or gRPC message accepted (413 / RESOURCE_EXHAUSTED above; default 8)");
  p.option("--idle-timeout", &idle_timeout, "T",
           "close connections (and gRPC streams) idle for T (default 30s; HTTP: shorter past half the cap)");
  p.option("--read-timeout", &read_timeout, "T", "408 a request not whole T after its first byte (default 30s)");
  p.option("--max-connections", &max_connections, "N",
           "connections served at once, each listener (gRPC: those with calls in flight); more get 503 /\n"
           "RESOURCE_EXHAUSTED (default 512)");
  p.option("--max-connections-per-address", &max_per_address, "N",
           "connections one client address may hold at once (gRPC: those with calls in\n"
           "                           flight); more get 503 / RESOURCE_EXHAUSTED (default 64)");
  p.option("--max-streams", &max_streams, "N", "gRPC calls in flight at once; more get RESOURCE_EXHAUSTED (default 512)");
  p.examples(
      "  l7conform serve -o spans.jsonl                     # gRPC on 11800 and HTTP on 12800\n"
      "  l7conform serve --no-http --grpc 0.0.0.0:11800 --auth-token s3cret -o spans.jsonl\n"
      "  l7conform serve --no-grpc --listen [::1]:12800 --read-timeout 10s -o spans.jsonl\n"
      "  SW_AGENT_COLLECTOR_BACKEND_SERVICES=127.0.0.1:11800 node app.js   # app.js starts skywalking-backend-js\n"
      "  curl -s -X POST --data @corpus/skywalking/java-http.json http://127.0.0.1:12800/v3/segment");
  int code = 0;
  if (!p.parse(args, code)) return code;
  const auto usage_error = [](const std::string& what) {
    std::fprintf(stderr, "l7conform serve: %s\n", what.c_str());
    return 2;
  };
  if (no_http && no_grpc) return usage_error("--no-http and --no-grpc together leave nothing to serve");
#ifndef L7_HAVE_GRPC
  if (!no_grpc) {
    return usage_error("this l7conform was built without gRPC (libgrpc++-dev, protobuf-compiler-grpc, "
                       "libprotobuf-dev); pass --no-grpc for HTTP only");
  }
#endif
  skywalking::ReceiverOptions options;
  std::string error;
  if (!skywalking::parseListenAddress(listen, options.host, options.port, error)) return usage_error("--listen " + error);
  std::string grpc_host;
  uint16_t grpc_port = 0;
  if (!skywalking::parseListenAddress(grpc_listen, grpc_host, grpc_port, error)) return usage_error("--grpc " + error);
  if (!skywalking::parseTimeout(idle_timeout, options.idle_timeout, error)) return usage_error("--idle-timeout " + error);
  if (!skywalking::parseTimeout(read_timeout, options.read_timeout, error)) return usage_error("--read-timeout " + error);
  // 1 TiB is no real limit, but keeps the shift below from overflowing.
  if (body_limit_mib <= 0 || body_limit_mib > (int64_t{1} << 20)) {
    return usage_error("--body-limit-mib takes a number of MiB from 1 to 1048576");
  }
  if (max_connections <= 0 || max_connections > 1'000'000) {
    return usage_error("--max-connections takes a number from 1 to 1000000");
  }
  if (max_per_address <= 0 || max_per_address > 1'000'000) {
    return usage_error("--max-connections-per-address takes a number from 1 to 1000000");
  }
  if (max_streams <= 0 || max_streams > 1'000'000) return usage_error("--max-streams takes a number from 1 to 1000000");
  auto writer = openRecordWriter(output, OutputFormat::kJsonLines, error);
  if (!writer) {
    std::fprintf(stderr, "l7conform serve: %s\n", error.c_str());
    return 1;
  }
  // Both receivers write from their own threads; a batch (one body, one
  // stream message) goes out whole and flushed.
  std::mutex writer_mutex;
  const auto write = [&](const std::vector<l7::Record>& records) {
    std::lock_guard lock(writer_mutex);
    for (const auto& r : records) writer->write(r);
    writer->flush();
    return writer->ok();
  };

  // SIGINT/SIGTERM go to one thread that stops both receivers. Blocked
  // before any thread starts (threads inherit the mask), so a signal that
  // comes after "listening" is never lost nor kills the process.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  options.auth_token = token;
  options.body_limit = static_cast<size_t>(body_limit_mib) << 20;
  options.max_connections = static_cast<size_t>(max_connections);
  options.max_connections_per_address = static_cast<size_t>(max_per_address);
  std::optional<skywalking::Receiver> http;
  if (!no_http) {
    http.emplace(options, write);
    if (!http->listen(error)) {
      std::fprintf(stderr, "l7conform serve: %s\n", error.c_str());
      return 1;
    }
  }
#ifdef L7_HAVE_GRPC
  std::optional<skywalking::GrpcReceiver> grpc;
  if (!no_grpc) {
    skywalking::GrpcReceiverOptions grpc_options;
    grpc_options.host = grpc_host;
    grpc_options.port = grpc_port;
    grpc_options.auth_token = token;
    grpc_options.message_limit = options.body_limit;
    grpc_options.idle_timeout = options.idle_timeout;
    grpc_options.max_connections = options.max_connections;
    grpc_options.max_connections_per_address = options.max_connections_per_address;
    grpc_options.max_streams = static_cast<size_t>(max_streams);
    grpc.emplace(grpc_options, write);
    if (!grpc->start(error)) {
      std::fprintf(stderr, "l7conform serve: %s\n", error.c_str());
      return 1;
    }
  }
#endif
  // Tests and scripts read the ports from these lines (with port 0 it is the only place they appear).
  if (http) {
    std::fprintf(stderr, "l7conform serve: listening on %s (POST /v3/segment, /v3/segments)\n",
                 hostPort(options.host, http->port()).c_str());
  }
#ifdef L7_HAVE_GRPC
  if (grpc) {
    std::fprintf(stderr, "l7conform serve: gRPC listening on %s (skywalking.v3 TraceSegmentReportService, ManagementService)\n",
                 hostPort(grpc_host, grpc->port()).c_str());
  }
#endif

  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    if (http) http->stop();
#ifdef L7_HAVE_GRPC
    if (grpc) grpc->shutdown();  // drains its streams while HTTP drains on the main thread
#endif
  });
  if (http) http->run();
  stopper.join();

  std::lock_guard lock(writer_mutex);
  writer->flush();
  if (http) {
    const auto s = http->stats();
    std::fprintf(stderr,
                 "l7conform serve: HTTP %llu requests (%llu accepted, %llu rejected), %llu spans, %llu connections, "
                 "%llu read timeouts, %llu over an address's share\n",
                 ull(s.requests), ull(s.accepted), ull(s.rejected), ull(s.spans), ull(s.connections), ull(s.timeouts),
                 ull(s.over_address_share));
  }
#ifdef L7_HAVE_GRPC
  if (grpc) {
    const auto s = grpc->stats();
    std::string unimplemented;
    for (const auto& [method, n] : s.unimplemented_methods) {
      unimplemented += (unimplemented.empty() ? " (" : ", ") + method + " " + std::to_string(n);
    }
    if (!unimplemented.empty()) unimplemented += ")";
    std::fprintf(stderr,
                 "l7conform serve: gRPC %llu calls, %llu segments, %llu spans, %llu not protobuf, %llu map errors, "
                 "%llu management, %llu unauthenticated, %llu over a cap, %llu idle timeouts, %llu unimplemented%s\n",
                 ull(s.calls), ull(s.segments), ull(s.spans), ull(s.bad_protobuf), ull(s.map_errors), ull(s.management),
                 ull(s.unauthenticated), ull(s.over_limit), ull(s.idle_timeouts), ull(s.unimplemented),
                 unimplemented.c_str());
  }
#endif
  if (!writer->ok()) {
    std::fprintf(stderr, "l7conform serve: writing %s failed: %s\n", output == "-" ? "stdout" : output.c_str(),
                 writer->error().c_str());
    return 1;
  }
  return 0;
}

}  // namespace l7h::cli
