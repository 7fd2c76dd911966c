// l7conform serve: SkyWalking's REST receiver; records to a JSON Lines file.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "output/record_writer.h"
#include "skywalking/receiver.h"

namespace l7h::cli {

int serveCommand(Args args) {
  std::string listen = "127.0.0.1:12800";
  std::string output = "-";
  std::string token;
  int64_t body_limit_mib = 8;
  int64_t max_connections = 512;
  std::string idle_timeout = "30s";
  std::string read_timeout = "30s";
  ArgParser p("serve", "[--listen HOST:PORT] [-o FILE] [--auth-token TOKEN] [--idle-timeout T] [--read-timeout T]",
              "Receives SkyWalking segments as the SkyWalking OAP's HTTP API does (POST /v3/segment with one\n"
              "SegmentObject, POST /v3/segments with an array; 200 {} on success) and writes one l7_flow_log\n"
              "record per span. Records are flushed before the 200 is sent. SIGINT/SIGTERM stop accepting,\n"
              "finish requests in flight, flush and exit 0. Point an agent's HTTP reporter (or curl) at it.\n"
              "\n"
              "Errors: 400 (body does not map, with per-segment details; malformed HTTP), 401 (token),\n"
              "404 (path), 405 (method), 408 (read timeout), 413 (body limit), 503 (connection cap).\n"
              "\n"
              "Two timeouts guard a connection (T is 500ms, 30s, 2m, or a bare number of seconds):\n"
              "  --idle-timeout  how long a connection may wait before a request starts, whether new or\n"
              "                  kept alive between requests; then it is closed without a response.\n"
              "  --read-timeout  how long a request has, from its first byte, until its header and whole\n"
              "                  body have arrived; then 408 and close. A total, not an inactivity timer:\n"
              "                  a client trickling bytes cannot hold a connection open. With the 8 MiB\n"
              "                  limit, 30s admits clients down to ~280 KB/s; raise it for slow links.");
  p.option("--listen", &listen, "HOST:PORT",
           "IPv4 HOST:PORT or [IPv6]:PORT; port 0: any free one (default 127.0.0.1:12800)");
  p.option("-o", &output, "FILE", "write records here (default stdout)");
  p.option("--auth-token", &token, "TOKEN", "require this token in the Authentication header (else 401)");
  p.option("--body-limit-mib", &body_limit_mib, "MIB", "largest body accepted, larger gets 413 (default 8)");
  p.option("--idle-timeout", &idle_timeout, "T", "close connections with no request started for T (default 30s)");
  p.option("--read-timeout", &read_timeout, "T", "408 a request not whole T after its first byte (default 30s)");
  p.option("--max-connections", &max_connections, "N", "connections served at once, more get 503 (default 512)");
  p.examples(
      "  l7conform serve -o spans.jsonl\n"
      "  l7conform serve --listen [::1]:12800 --read-timeout 10s --auth-token s3cret -o spans.jsonl\n"
      "  curl -s -X POST --data @corpus/skywalking/java-http.json http://127.0.0.1:12800/v3/segment");
  int code = 0;
  if (!p.parse(args, code)) return code;
  skywalking::ReceiverOptions options;
  std::string error;
  const auto usage_error = [](const std::string& what) {
    std::fprintf(stderr, "l7conform serve: %s\n", what.c_str());
    return 2;
  };
  if (!skywalking::parseListenAddress(listen, options.host, options.port, error)) return usage_error("--listen " + error);
  if (!skywalking::parseTimeout(idle_timeout, options.idle_timeout, error)) return usage_error("--idle-timeout " + error);
  if (!skywalking::parseTimeout(read_timeout, options.read_timeout, error)) return usage_error("--read-timeout " + error);
  // 1 TiB is no real limit, but keeps the shift below from overflowing.
  if (body_limit_mib <= 0 || body_limit_mib > (int64_t{1} << 20)) {
    return usage_error("--body-limit-mib takes a number of MiB from 1 to 1048576");
  }
  if (max_connections <= 0 || max_connections > 1'000'000) {
    return usage_error("--max-connections takes a number from 1 to 1000000");
  }
  auto writer = openRecordWriter(output, OutputFormat::kJsonLines, error);
  if (!writer) {
    std::fprintf(stderr, "l7conform serve: %s\n", error.c_str());
    return 1;
  }
  options.auth_token = token;
  options.body_limit = static_cast<size_t>(body_limit_mib) << 20;
  options.max_connections = static_cast<size_t>(max_connections);
  options.handle_signals = true;
  skywalking::Receiver receiver(options, [&](const std::vector<l7::Record>& records) {
    for (const auto& r : records) writer->write(r);
    writer->flush();
    return writer->ok();
  });
  if (!receiver.listen(error)) {
    std::fprintf(stderr, "l7conform serve: %s\n", error.c_str());
    return 1;
  }
  // Tests and scripts read the port from this line (with port 0 it is the only place it appears).
  const bool v6 = options.host.find(':') != std::string::npos;
  std::fprintf(stderr, "l7conform serve: listening on %s%s%s:%u (POST /v3/segment, /v3/segments)\n", v6 ? "[" : "",
               options.host.c_str(), v6 ? "]" : "", receiver.port());
  receiver.run();
  writer->flush();
  const auto s = receiver.stats();
  std::fprintf(stderr,
               "l7conform serve: %llu requests (%llu accepted, %llu rejected), %llu spans, %llu connections, "
               "%llu read timeouts\n",
               static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.accepted),
               static_cast<unsigned long long>(s.rejected), static_cast<unsigned long long>(s.spans),
               static_cast<unsigned long long>(s.connections), static_cast<unsigned long long>(s.timeouts));
  return writer->ok() ? 0 : 1;
}

}  // namespace l7h::cli
