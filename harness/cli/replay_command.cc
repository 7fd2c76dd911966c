// l7conform replay: captures (or a live interface) → l7_flow_log records.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "check/metrics.h"
#include "check/record_compare.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/memory_option.h"
#include "capture/pcap_input.h"
#include "l7/registry.h"
#include "output/record_writer.h"
#include "session/replay.h"

namespace l7h::cli {
namespace {

std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop.store(true); }

std::string knownProtocols() {
  std::string names;
  for (const l7::DecoderInfo& d : l7::allDecoders()) {
    if (!names.empty()) names += ", ";
    names += d.key;
  }
  return names;
}

}  // namespace

int replayCommand(Args args) {
  std::vector<std::string> files;
  std::string output = "-";
  std::string format = "jsonl";
  std::string metrics_path;
  std::string interface;
  std::string bpf;
  std::string protocol;
  std::string memory_limit;
  int64_t session_timeout_s = 120;
  int64_t max_pending = 1024;
  int64_t max_message_mib = 100;
  int64_t max_connections = 100000;
  bool quiet = false;
  int64_t threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 256);
  ArgParser p("replay", "FILE... [options]  |  -i IFACE [-f BPF] [options]",
              "Decodes pcap/pcapng captures (or a live interface) into l7_flow_log records. TCP is\n"
              "reassembled per connection; each connection's protocol is recognized from its first bytes\n"
              "(or well-known ports); requests are paired with responses into session records.\n"
              "Records are written in the contract's order (spec/l7_flow_log.md); counters go to stderr.\n"
              "\n"
              "Limits of libpcap that show here:\n"
              "  - a packet is only as long as the capture's snap length: bytes cut off are a gap in the\n"
              "    stream (counted as \"snap-length truncated\"), so capture with -s 0 (tcpdump) for whole payloads;\n"
              "  - a pcapng file is read with the link type of its first interface: packets of interfaces\n"
              "    with another link type are misread (counted as malformed) or fail the file; split such\n"
              "    files per interface first (e.g. tshark -r in.pcapng -w out.pcapng -Y 'frame.interface_id==1').");
  p.positionals(&files, "FILE", "pcap or pcapng captures, replayed one after another");
  p.option("-o", &output, "OUT", "write records here (default: stdout)");
  p.option("--format", &format, "jsonl|table", "JSON Lines (default) or a readable table");
  p.option("--metrics", &metrics_path, "FILE", "also write the metrics (per protocol and endpoint) as JSON");
  p.option("-i", &interface, "IFACE", "capture live from this interface until interrupted (Ctrl-C)");
  p.option("-f", &bpf, "BPF", "capture filter (BPF, as tcpdump), on -i and on FILEs alike, e.g. 'tcp port 1883'");
  p.option("--protocol", &protocol, "NAME", "decode every TCP connection as this protocol (no probing): " + knownProtocols());
  p.option("--session-timeout", &session_timeout_s, "SECONDS", "unanswered requests time out after this (default 120)",
           1, 365 * 86400);
  p.option("--max-pending", &max_pending, "N", "pending requests per connection before the oldest is written (default 1024)",
           1, 1'000'000);
  p.option("--max-message-mib", &max_message_mib, "MIB", "largest message accepted as valid (default 100)", 1,
           1 << 20);
  p.option("--max-connections", &max_connections, "N", "connection table size (default 100000)", 1, 100'000'000);
  p.option("--memory-limit", &memory_limit, "SIZE", kMemoryLimitHelp);
  p.option("--threads", &threads, "N",
           "workers for capture FILEs (default: every core; 1: one thread does everything). This\n"
           "                           thread reads packets; each connection is decoded by the worker its\n"
           "                           addresses and ports hash to; records are merged back into the contract's\n"
           "                           order, byte for byte what one thread writes. Only where a cap is reached can\n"
           "                           the output differ: --memory-limit, --max-connections and the held-record cap\n"
           "                           are divided between the workers, each reaching its share on its own.\n"
           "                           Live capture (-i) uses one thread",
           1, 256);
  p.flag("-q", &quiet, "no counters on stderr");
  p.examples(
      "  l7conform replay corpus/mqtt/v5-qos.pcap\n"
      "  l7conform replay --format table capture.pcapng\n"
      "  l7conform replay -i lo -f 'tcp port 4222' -o nats.jsonl\n"
      "  l7conform replay --protocol nats --metrics m.json odd-port.pcap\n"
      "  l7conform replay --threads 1 -o one.jsonl big.pcap   # the same output as every core, on one");
  int code = 0;
  if (!p.parse(args, code)) return code;
  if (files.empty() == interface.empty()) {
    std::fprintf(stderr, "l7conform replay: give capture FILEs or -i IFACE (see --help)\n");
    return 2;
  }
  if (!protocol.empty() && l7::findDecoder(protocol) == nullptr) {
    std::fprintf(stderr, "l7conform replay: --protocol '%s' is not a known protocol (known: %s)\n", protocol.c_str(),
                 knownProtocols().c_str());
    return 2;
  }
  if (!bpf.empty()) {
    std::string why;
    if (!checkBpfFilter(bpf, why)) {
      std::fprintf(stderr, "l7conform replay: -f: %s\n", why.c_str());
      return 2;
    }
  }
  if (format != "jsonl" && format != "table") {
    std::fprintf(stderr, "l7conform replay: --format must be jsonl or table\n");
    return 2;
  }

  uint64_t memory_limit_bytes = 0;
  if (!parseMemoryLimit("replay", memory_limit, memory_limit_bytes)) return 2;

  ReplayOptions options;
  // One budget for every file and the metrics.
  MemoryBudget budget(memory_limit_bytes);
  options.memory_limit_bytes = memory_limit_bytes;
  options.budget = &budget;
  options.session_timeout_us = session_timeout_s * 1'000'000;
  options.max_pending_per_connection = static_cast<uint32_t>(max_pending);
  options.limits.max_message_bytes = static_cast<uint64_t>(max_message_mib) << 20;
  options.max_connections = static_cast<uint32_t>(max_connections);
  options.force_protocol = protocol;
  options.bpf_filter = bpf;
  options.progress = !quiet;
  options.threads = static_cast<uint32_t>(threads);

  std::string error;
  auto writer = openRecordWriter(output, format == "table" ? OutputFormat::kTable : OutputFormat::kJsonLines, error);
  if (!writer) {
    std::fprintf(stderr, "l7conform replay: %s\n", error.c_str());
    return 1;
  }
  // Endpoint rows past a quarter of the budget are summed into one.
  check::MetricsAccumulator metrics(&budget, std::min(check::MetricsAccumulator::kDefaultMaxBytes, memory_limit_bytes / 4));
  const bool want_metrics = !metrics_path.empty();
  RecordCallback on_record = [&](const l7::Record& r) {
    writer->write(r);
    if (want_metrics) metrics.add(r);
    if (!interface.empty()) writer->flush();
  };

  int status = 0;
  if (!interface.empty()) {
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    ReplayResult result = replayLive(interface, bpf, options, on_record, g_stop);
    if (!quiet) result.stats.print(stderr);
    if (!result.ok) {
      std::fprintf(stderr, "l7conform replay: %s\n", result.error.c_str());
      status = 1;
    }
  } else {
    // Without metrics, a JSON Lines writer takes the lines the replay
    // serialized as records completed (no Record held for ordering).
    const bool lines = writer->takesJsonLines() && !want_metrics;
    const LineCallback on_line = [&](std::string_view line) { writer->writeLine(line); };
    for (const auto& file : files) {
      ReplayResult result =
          lines ? replayCaptureLines(file, options, on_line) : replayCapture(file, options, on_record);
      if (!quiet) {
        if (files.size() > 1) std::fprintf(stderr, "%s:\n", file.c_str());
        result.stats.print(stderr);
      }
      if (!result.ok) {
        std::fprintf(stderr, "l7conform replay: %s\n", result.error.c_str());
        status = 1;
      }
    }
  }
  writer->flush();
  if (!writer->ok()) {
    std::fprintf(stderr, "l7conform replay: writing %s failed: %s\n", output == "-" ? "stdout" : output.c_str(),
                 writer->error().c_str());
    status = 1;
  }
  if (want_metrics) {
    std::ofstream out(metrics_path, std::ios::trunc);
    out << check::metricsToText(metrics.result());
    if (!out) {
      std::fprintf(stderr, "l7conform replay: cannot write %s\n", metrics_path.c_str());
      status = 1;
    }
  }
  return status;
}

}  // namespace l7h::cli
