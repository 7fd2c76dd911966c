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
  int64_t idle_timeout_s = 30;
  ArgParser p("serve", "[--listen HOST:PORT] [-o FILE] [--auth-token TOKEN]",
              "Receives SkyWalking segments as the SkyWalking OAP's HTTP API does (POST /v3/segment with one\n"
              "SegmentObject, POST /v3/segments with an array; 200 {} on success) and writes one l7_flow_log\n"
              "record per span. Records are flushed before the 200 is sent. SIGINT/SIGTERM stop accepting,\n"
              "finish requests in flight, flush and exit 0. Point an agent's HTTP reporter (or curl) at it.");
  p.option("--listen", &listen, "HOST:PORT", "address to listen on (default 127.0.0.1:12800, SkyWalking's REST port)");
  p.option("-o", &output, "FILE", "write records here (default stdout)");
  p.option("--auth-token", &token, "TOKEN", "require this token in the Authentication header");
  p.option("--body-limit-mib", &body_limit_mib, "MIB", "largest body accepted, larger gets 413 (default 8)");
  p.option("--idle-timeout", &idle_timeout_s, "SECONDS", "close keep-alive connections idle this long (default 30)");
  p.examples(
      "  l7conform serve -o spans.jsonl\n"
      "  curl -s -X POST --data @corpus/skywalking/java-http.json http://127.0.0.1:12800/v3/segment");
  int code = 0;
  if (!p.parse(args, code)) return code;
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || body_limit_mib <= 0 || idle_timeout_s <= 0) {
    std::fprintf(stderr, "l7conform serve: --listen takes HOST:PORT; limits must be positive\n");
    return 2;
  }
  std::string error;
  auto writer = openRecordWriter(output, OutputFormat::kJsonLines, error);
  if (!writer) {
    std::fprintf(stderr, "l7conform serve: %s\n", error.c_str());
    return 1;
  }
  skywalking::ReceiverOptions options;
  options.host = listen.substr(0, colon);
  if (options.host.size() >= 2 && options.host.front() == '[') options.host = options.host.substr(1, options.host.size() - 2);
  options.port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
  options.auth_token = token;
  options.body_limit = static_cast<size_t>(body_limit_mib) << 20;
  options.idle_timeout = std::chrono::seconds(idle_timeout_s);
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
  std::fprintf(stderr, "l7conform serve: listening on %s:%u (POST /v3/segment, /v3/segments)\n",
               options.host.c_str(), receiver.port());
  receiver.run();
  writer->flush();
  const auto s = receiver.stats();
  std::fprintf(stderr, "l7conform serve: %llu requests (%llu accepted, %llu rejected), %llu spans, %llu connections\n",
               static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.accepted),
               static_cast<unsigned long long>(s.rejected), static_cast<unsigned long long>(s.spans),
               static_cast<unsigned long long>(s.connections));
  return writer->ok() ? 0 : 1;
}

}  // namespace l7h::cli
