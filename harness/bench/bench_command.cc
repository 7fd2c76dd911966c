// l7conform bench: end-to-end throughput and peak memory of the replay
// pipeline against two baselines measured in the same run on the same file:
// a bare libpcap read loop that touches every byte (the practical upper
// bound) and tshark extracting comparable fields (what users run today).
//
// Every measurement runs in a child process of its own (this binary, or
// tshark), so its peak RSS is its own and nothing is shared between runs.
#include <fcntl.h>
#include <pcap/pcap.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "capture/frame_builder.h"
#include "capture/pcap_input.h"
#include "cli/args.h"
#include "cli/memory_option.h"
#include "cli/commands.h"
#include "l7/record_json.h"
#include "session/replay.h"
#include "synth/synthesizer.h"

extern char** environ;

namespace fs = std::filesystem;

namespace l7h::cli {
namespace {

// The heading of RESULTS.md's hand-kept section (bench/receiver_load.sh).
constexpr std::string_view kReceiverSection = "## SkyWalking receivers";

uint64_t counterOf(const std::string& text, const std::string& name);

struct Measurement {
  bool ok = false;
  double seconds = 0;
  double cpu_seconds = 0;  // the child's user + system time (all its threads)
  long peak_rss_kb = 0;
  std::string output;  // what the child printed on stderr
};

// Runs argv as a child; its stdout goes to /dev/null, stderr is captured.
Measurement runChild(const std::vector<std::string>& argv) {
  Measurement m;
  const fs::path err = fs::temp_directory_path() / ("l7bench-" + std::to_string(::getpid()) + ".err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const auto start = std::chrono::steady_clock::now();
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return m;
  int status = 0;
  rusage usage{};
  // Poll the child's own high-water mark while it runs: ru_maxrss would
  // include ours (the kernel keeps the pre-exec mark across vfork+exec).
  long polled_kb = 0;
  const std::string status_path = "/proc/" + std::to_string(pid) + "/status";
  while (::wait4(pid, &status, WNOHANG, &usage) == 0) {
    std::ifstream st(status_path);
    std::string line;
    while (std::getline(st, line)) {
      if (line.rfind("VmHWM:", 0) == 0) polled_kb = std::max(polled_kb, std::strtol(line.c_str() + 6, nullptr, 10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.peak_rss_kb = polled_kb;
  m.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  m.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::ifstream in(err);
  std::stringstream s;
  s << in.rdbuf();
  m.output = s.str();
  fs::remove(err);
  if (const uint64_t reported = counterOf(m.output, "peak RSS kB"); reported > 0) m.peak_rss_kb = static_cast<long>(reported);
  return m;
}

// Reads "  <name>   <number>" from a counters block (ReplayStats::print).
uint64_t counterOf(const std::string& text, const std::string& name) {
  const std::string key = "\n  " + name + " ";
  const size_t at = ("\n" + text).find(key);
  if (at == std::string::npos) return 0;
  const size_t num = text.find_first_of("0123456789", at + key.size() - 1);
  return num == std::string::npos ? 0 : std::strtoull(text.c_str() + num, nullptr, 10);
}

// The baseline: read every packet with libpcap and touch every byte.
int readOnly(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (p == nullptr) {
    std::fprintf(stderr, "%s\n", errbuf);
    return 1;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  uint64_t sum = 0, packets = 0, bytes = 0;
  while (pcap_next_ex(p, &h, &data) == 1) {
    for (uint32_t i = 0; i < h->caplen; ++i) sum += data[i];
    ++packets;
    bytes += h->len;
  }
  pcap_close(p);
  std::fprintf(stderr, "  packets %llu\n  bytes %llu\n  checksum %llu\n  peak RSS kB %ld\n",
               static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
               static_cast<unsigned long long>(sum), peakRssKb());
  return 0;
}

std::string selfPath() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("l7conform") : p.string();
}

bool haveTshark() { return runChild({"tshark", "-v"}).ok; }

struct FileResult {
  std::string name;
  uint64_t packets = 0, bytes = 0, records = 0, messages = 0;
  Measurement pipeline, baseline, tshark;
};

std::string machineDescription() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream mem("/proc/meminfo");
  std::string memline;
  std::getline(mem, memline);
  std::ostringstream s;
  s << std::thread::hardware_concurrency() << " cores, " << (model.empty() ? "unknown CPU" : model) << ", "
    << memline.substr(memline.find_first_of("0123456789")) ;
  return s.str();
}

double rate(double amount, double seconds) { return seconds > 0 ? amount / seconds : 0; }

// Moves every IPv4/IPv6 address of an Ethernet frame into a block of its own
// for repetition `rep`, so repeated copies of a capture are new connections
// (the same 4-tuple again would read as a retransmission). Checksums are not
// recomputed: the pipeline, like most capture tools on loopback, ignores them.
void relocateAddresses(std::vector<uint8_t>& f, uint32_t rep) {
  size_t off = 12;
  if (f.size() < off + 2) return;
  uint16_t type = static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
  while ((type == 0x8100 || type == 0x88a8) && f.size() >= off + 6) {
    off += 4;
    type = static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
  }
  const size_t ip = off + 2;
  const uint8_t hi = static_cast<uint8_t>(rep >> 8), lo = static_cast<uint8_t>(rep);
  if (type == 0x0800 && f.size() >= ip + 20) {
    for (size_t a : {ip + 12, ip + 16}) {
      f[a + 1] ^= hi;
      f[a + 2] ^= lo;
    }
  } else if (type == 0x86dd && f.size() >= ip + 40) {
    for (size_t a : {ip + 8, ip + 24}) {
      f[a + 12] ^= hi;
      f[a + 13] ^= lo;
    }
  }
}

// The project's real captures are small; measured one by one, process start
// would dominate. This plays every Ethernet capture under `dir`, one after
// another, `reps` times over, each repetition on addresses of its own.
bool buildCorpusCapture(const fs::path& dir, uint32_t reps, const fs::path& out, size_t& files_used,
                        std::string& error) {
  std::vector<std::vector<CapturedFrame>> captures;
  std::vector<fs::path> paths;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    auto in = PcapInput::openFile(path.string(), error);
    if (!in) return false;
    std::vector<CapturedFrame> frames;
    RawPacket p;
    bool ethernet = true;
    while (in->next(p) == 1) {
      if (p.linktype != 1) {
        ethernet = false;
        break;
      }
      frames.push_back(CapturedFrame{p.ts_us, std::vector<uint8_t>(p.data, p.data + p.caplen), p.wirelen});
    }
    if (ethernet && !frames.empty()) captures.push_back(std::move(frames));
  }
  files_used = captures.size();
  if (captures.empty()) {
    error = dir.string() + ": no Ethernet captures to build the corpus input from";
    return false;
  }
  std::vector<CapturedFrame> all;
  int64_t clock = 1'700'000'000'000'000;
  for (uint32_t rep = 0; rep < reps; ++rep) {
    for (const auto& frames : captures) {
      const int64_t first = frames.front().ts_us;
      for (const auto& f : frames) {
        CapturedFrame copy = f;
        copy.ts_us = clock + (f.ts_us - first);
        relocateAddresses(copy.bytes, rep);
        all.push_back(std::move(copy));
      }
      clock += frames.back().ts_us - first + 1000;
    }
  }
  return writePcap(out.string(), LinkType::kEthernet, all, error);
}

}  // namespace

int benchCommand(Args args) {
  std::vector<std::string> files;
  std::string write_path, keep_dir;
  int64_t messages = 1'000'000;
  int64_t concurrent = 100'000;
  int64_t corpus_reps = 400;
  int64_t session_timeout_s = 2;
  std::string corpus_dir = "corpus";
  bool no_tshark = false, quick = false;
  std::string read_only;
  std::string memory_limit;
  int64_t threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 256);
  ArgParser p("bench", "[FILE...] [options]",
              "Measures the whole pipeline (records written to /dev/null) on each capture: packets/s, MB/s,\n"
              "records/s and peak RSS, against a bare libpcap read of the same file and tshark extracting\n"
              "comparable fields, and reports the ratios. Without FILEs it synthesizes its inputs: a capture\n"
              "of --messages messages (all synthesizer protocols, mixed segmentation), the same at a tenth\n"
              "of the size (peak memory must not grow with capture length), and --concurrent simultaneous\n"
              "connections (peak memory bounded by the per-connection caps); and the real captures of --corpus\n"
              "played --corpus-reps times over, each repetition on addresses of its own.");
  p.positionals(&files, "FILE", "captures to measure (default: synthesized)");
  p.option("--messages", &messages, "N", "messages in the large synthesized capture (default 1000000)", 1,
           1'000'000'000);
  p.option("--concurrent", &concurrent, "N", "connections open at once in the concurrency capture (default 100000)",
           1, 10'000'000);
  p.option("--corpus", &corpus_dir, "DIR", "real captures to measure as one input, repeated (default: corpus)");
  p.option("--corpus-reps", &corpus_reps, "N", "how often the corpus is repeated in that input (default 400; 0: skip)",
           0, 65536);
  p.option("--session-timeout", &session_timeout_s, "SECONDS",
           "session timeout of the measured replays (default 2: shorter than the synthesized captures, so\n"
           "                           peak memory shows the bound rate x timeout rather than the whole capture)",
           1, 86400);
  p.option("--memory-limit", &memory_limit, "SIZE", "memory budget of the measured replays (replay --memory-limit; default 1G)");
  p.option("--threads", &threads, "N",
           "replay --threads of the measured replays (default: every core; the table's CPU column is\n"
           "                           the replay's user + system time over all its threads)",
           1, 256);
  p.flag("--no-tshark", &no_tshark, "skip the tshark baseline");
  p.flag("--quick", &quick, "a small run (50k messages, 10k connections) to try the command");
  p.option("--keep", &keep_dir, "DIR", "keep the synthesized captures in DIR");
  p.option("--write", &write_path, "FILE", "also write the results as Markdown (bench/RESULTS.md)");
  p.option("--read-only", &read_only, "FILE", "(internal) the libpcap baseline loop");
  int code = 0;
  if (!p.parse(args, code)) return code;
  if (!read_only.empty()) return readOnly(read_only);
  uint64_t memory_limit_bytes = 0;
  if (!parseMemoryLimit("bench", memory_limit, memory_limit_bytes)) return 2;
  if (quick) {
    messages = 50'000;
    concurrent = 10'000;
  }

  const fs::path dir = keep_dir.empty() ? fs::temp_directory_path() / ("l7bench-" + std::to_string(::getpid()))
                                        : fs::path(keep_dir);
  fs::create_directories(dir);
  if (files.empty()) {
    // Synthesized inputs: every generator, realistic segmentation (whole
    // messages, with coalescing and some random splits), many connections.
    auto make = [&](const std::string& name, size_t total, size_t connections, int64_t conversation_gap_us,
                    int64_t message_gap_us) {
      std::vector<CapturedFrame> frames;
      const auto& gens = synth::generators();
      size_t k = 0;
      LinkType link = LinkType::kEthernet;
      for (const auto& g : gens) {
        synth::SynthOptions o;
        o.protocol = std::string(g.protocol);
        o.connections = std::max<size_t>(1, connections / gens.size());
        o.messages = std::max<size_t>(2, total / gens.size() / o.connections);
        o.seed = 42 + k;
        o.plan.seed = 42 + k;
        o.plan.segmentation = k % 2 ? synth::Segmentation::kCoalesced : synth::Segmentation::kWhole;
        o.conversation_spacing_us = conversation_gap_us;
        o.message_spacing_us = message_gap_us;
        synth::Model model;
        std::string error;
        if (!synth::buildModel(o, model, error)) continue;
        auto s = synth::synthesize(model, o);
        link = s.link;
        for (auto& f : s.frames) frames.push_back(std::move(f));
        ++k;
      }
      std::stable_sort(frames.begin(), frames.end(), [](const auto& a, const auto& b) { return a.ts_us < b.ts_us; });
      std::string error;
      const fs::path path = dir / name;
      writePcap(path.string(), link, frames, error);
      std::fprintf(stderr, "synthesized %s: %zu packets\n", path.c_str(), frames.size());
      files.push_back(path.string());
    };
    // 1000 connections open at once, each speaking every 100 ms of capture
    // time; the tenth has the same traffic for a tenth of the time. Records
    // leave in start_time order, so an unanswered request holds back those
    // after it until its session timeout: memory is bounded by rate x
    // timeout, not by length, once a capture outlasts the timeout (hence
    // --session-timeout for these runs, shorter than both captures).
    make("large.pcap", static_cast<size_t>(messages), 1000, 37, 100'000);
    make("tenth.pcap", static_cast<size_t>(messages) / 10, 1000, 37, 100'000);
    // All connections open within a second, then each speaks every 2 s.
    make("concurrent.pcap", static_cast<size_t>(concurrent) * 6, static_cast<size_t>(concurrent), 10,
         std::max<int64_t>(2'000'000, concurrent * 10 + 1'000'000));
    if (corpus_reps > 0 && fs::is_directory(corpus_dir)) {
      const uint32_t reps = static_cast<uint32_t>(std::min<int64_t>(quick ? 20 : corpus_reps, 65536));
      const fs::path path = dir / ("corpus-x" + std::to_string(reps) + ".pcap");
      size_t used = 0;
      std::string error;
      if (buildCorpusCapture(corpus_dir, reps, path, used, error)) {
        std::fprintf(stderr, "built %s: the %zu captures of %s, %u times\n", path.c_str(), used, corpus_dir.c_str(), reps);
        files.push_back(path.string());
      } else {
        std::fprintf(stderr, "l7conform bench: corpus input skipped: %s\n", error.c_str());
      }
    }
  }

  const std::string self = selfPath();
  const bool tshark = !no_tshark && haveTshark();
  std::vector<FileResult> results;
  for (const std::string& file : files) {
    FileResult r;
    r.name = fs::path(file).filename().string();
    std::fprintf(stderr, "measuring %s ...\n", r.name.c_str());
    r.baseline = runChild({self, "bench", "--read-only", file});
    r.packets = counterOf(r.baseline.output, "packets");
    r.bytes = counterOf(r.baseline.output, "bytes");
    r.pipeline = runChild({self, "replay", "-o", "/dev/null", "--session-timeout", std::to_string(session_timeout_s),
                           "--memory-limit", std::to_string(memory_limit_bytes >> 10) + "K", "--threads",
                           std::to_string(threads), file});
    r.records = counterOf(r.pipeline.output, "records");
    r.messages = counterOf(r.pipeline.output, "messages");
    if (tshark) {
      r.tshark = runChild({"tshark", "-n", "-r", file, "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src", "-e",
                           "ip.dst", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.seq", "-e", "tcp.len",
                           "-e", "mqtt.msgtype", "-e", "mqtt.topic", "-e", "kafka.api_key", "-e",
                           "kafka.correlation_id"});
    }
    results.push_back(std::move(r));
  }

  std::ostringstream table;
  table << "| capture | packets | MB | records | pipeline pkt/s | pipeline MB/s | records/s | pipeline CPU s | "
           "peak RSS MB | libpcap MB/s | pipeline/libpcap | tshark MB/s | pipeline/tshark |\n"
        << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    const double mb = static_cast<double>(r.bytes) / 1e6;
    char line[512];
    const double pipe_mbs = rate(mb, r.pipeline.seconds);
    const double base_mbs = rate(mb, r.baseline.seconds);
    const double tshark_mbs = r.tshark.ok ? rate(mb, r.tshark.seconds) : 0;
    std::snprintf(line, sizeof line,
                  "| %s | %llu | %.1f | %llu | %.0f | %.1f | %.0f | %.2f | %.1f | %.1f | %.2fx slower | %s | %s |\n",
                  r.name.c_str(), static_cast<unsigned long long>(r.packets), mb,
                  static_cast<unsigned long long>(r.records), rate(static_cast<double>(r.packets), r.pipeline.seconds),
                  pipe_mbs, rate(static_cast<double>(r.records), r.pipeline.seconds), r.pipeline.cpu_seconds,
                  static_cast<double>(r.pipeline.peak_rss_kb) / 1024.0, base_mbs,
                  pipe_mbs > 0 ? base_mbs / pipe_mbs : 0.0,
                  r.tshark.ok ? std::to_string(tshark_mbs).substr(0, 6).c_str() : "-",
                  r.tshark.ok && tshark_mbs > 0 ? (std::to_string(pipe_mbs / tshark_mbs).substr(0, 6) + "x faster").c_str()
                                                : "-");
    table << line;
  }
  std::printf("%s", table.str().c_str());
  if (!write_path.empty()) {
    // The receivers' figures come from bench/receiver_load.sh, not from this
    // command: a section of them in the old file is carried over as it is.
    std::string kept;
    {
      std::ifstream old(write_path, std::ios::binary);
      std::stringstream text;
      text << old.rdbuf();
      const std::string previous = text.str();
      if (const size_t at = previous.find(kReceiverSection); at != std::string::npos) kept = previous.substr(at);
    }
    std::ofstream out(write_path, std::ios::trunc);
    out << "# Benchmark results\n\n"
        << "Machine: " << machineDescription() << ".\n\n"
        << "Reproduce: `./run bench"
        << (quick ? std::string(" --quick")
                  : " --messages " + std::to_string(messages) + " --concurrent " + std::to_string(concurrent) +
                        " --corpus-reps " + std::to_string(corpus_reps))
        << " --threads " << threads << " --write bench/RESULTS.md` (Release build; "
        << "each figure is one run of a fresh child process; peak RSS is the child's VmHWM; replays use "
        << "--session-timeout " << session_timeout_s << "; CPU s is the replay's user + "
        << "system time over all its threads).\n\n"
        << table.str();
    if (!kept.empty()) out << "\n" << kept;
  }
  if (keep_dir.empty()) fs::remove_all(dir);
  for (const auto& r : results) {
    if (!r.pipeline.ok) {
      std::fprintf(stderr, "l7conform bench: replay of %s failed:\n%s\n", r.name.c_str(), r.pipeline.output.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace l7h::cli
