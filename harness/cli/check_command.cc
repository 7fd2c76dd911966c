// l7conform check: replay a corpus and compare with goldens, mapping tables
// and metrics goldens; or rewrite the goldens with --update.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "check/junit.h"
#include "check/mapping_check.h"
#include "check/metrics.h"
#include "cli/memory_option.h"
#include "check/record_compare.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "session/replay.h"

#if __has_include("skywalking/segment_mapper.h")
#include "skywalking/segment_mapper.h"
#define L7_HAVE_SKYWALKING 1
#endif

namespace fs = std::filesystem;

namespace l7h::cli {
namespace {

struct Capture {
  fs::path path;
  std::string protocol;  // corpus folder name
  std::string name;      // file name without extension
  bool is_segment_json = false;
};

// In a folder walk: packet captures, and SkyWalking segment files in a
// skywalking folder (other .json files, such as a capture client's
// package.json, are not captures).
bool isCaptureFile(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".json") return p.parent_path().filename() == "skywalking";
  return ext == ".pcap" || ext == ".pcapng" || ext == ".cap";
}

void collect(const fs::path& input, std::vector<Capture>& out, std::vector<std::string>& errors) {
  std::error_code ec;
  if (fs::is_directory(input, ec)) {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(input, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      // Helper folders (capture clients, node_modules) hold no captures.
      if (it->is_directory() && (it->path().filename() == "node_modules" || it->path().filename() == "client")) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && isCaptureFile(it->path())) files.push_back(it->path());
    }
    if (files.empty()) {
      errors.push_back(input.string() +
                       ": no captures in this folder (looked for .pcap, .pcapng, .cap, and .json in skywalking/)");
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) collect(f, out, errors);
    return;
  }
  if (!fs::exists(input, ec)) {
    errors.push_back(input.string() + ": no such file or directory");
    return;
  }
  Capture c;
  c.path = input;
  c.protocol = input.parent_path().filename().string();
  c.name = input.stem().string();
  c.is_segment_json = input.extension() == ".json";
  out.push_back(std::move(c));
}

bool readFile(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

bool writeFile(const fs::path& p, const std::string& text, std::string& error) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out || !(out << text)) {
    error = p.string() + ": cannot write";
    return false;
  }
  return true;
}

std::string shellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

// Runs `cmd` with /bin/sh, its stdout into `text`, for at most `timeout`:
// then it and everything it started (its own process group) are killed.
// Returns the wait status, or -1 with `error` set.
int runWithTimeout(const std::string& cmd, std::chrono::seconds timeout, std::string& text, std::string& error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error = std::string("cannot run: pipe: ") + std::strerror(errno);
    return -1;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("cannot run: fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(fds[1], STDOUT_FILENO);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so the kill below cannot race the child's own call
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  char buf[65536];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of output (or a read error): wait for the exit below
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  // Output ended but the command may still run (it closed stdout): the same deadline holds.
  while (!timed_out) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    error = "timed out after " + std::to_string(timeout.count()) + " s (--impl-timeout): '" + cmd + "' was killed";
    return -1;
  }
  return status;
}

// Runs an external decoder: CMD with {pcap} replaced must print JSON Lines.
bool runImplementation(const std::string& command, const fs::path& capture, std::chrono::seconds timeout,
                       check::JsonRecords& out, std::string& error) {
  std::string cmd = command;
  const std::string quoted = shellQuote(capture.string());
  bool replaced = false;
  for (size_t pos; (pos = cmd.find("{pcap}")) != std::string::npos;) {
    cmd.replace(pos, 6, quoted);
    replaced = true;
  }
  if (!replaced) cmd += " " + quoted;
  std::string text;
  const int status = runWithTimeout(cmd, timeout, text, error);
  if (status < 0) return false;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = WIFEXITED(status) ? "'" + cmd + "' exited with status " + std::to_string(WEXITSTATUS(status))
                              : "'" + cmd + "' was killed by signal " + std::to_string(WTERMSIG(status));
    return false;
  }
  if (!check::parseJsonLines(text, out, error)) {
    error = "output of '" + cmd + "': " + error;
    return false;
  }
  return true;
}

// Records of one capture; `stats` gathers the built-in replay's counters.
// Mapping errors go to `notes` (printed in capture order by the caller).
bool produceRecords(const Capture& c, const std::string& impl, std::chrono::seconds impl_timeout,
                    const ReplayOptions& options, check::JsonRecords& out, std::string& error, ReplayStats* stats,
                    std::string& notes) {
  if (!impl.empty()) return runImplementation(impl, c.path, impl_timeout, out, error);
  if (c.is_segment_json) {
#ifdef L7_HAVE_SKYWALKING
    std::string body;
    if (!readFile(c.path, body)) {
      error = c.path.string() + ": cannot read";
      return false;
    }
    auto mapped = skywalking::mapSegmentsJson(body);
    for (const auto& r : mapped.records) out.push_back(check::recordToJson(r));
    // Mapping errors are part of the expected output of a corpus file that
    // exercises bad input, so they do not fail the capture; they are shown.
    for (const auto& e : mapped.errors) notes += c.path.string() + ": " + e.where + ": " + e.reason + "\n";
    return true;
#else
    error = c.path.string() + ": SkyWalking segment mapping is not built in";
    return false;
#endif
  }
  ReplayResult result;
  auto records = replayCaptureToVector(c.path.string(), options, &result);
  if (stats != nullptr) stats->add(result.stats);
  for (const auto& r : records) out.push_back(check::recordToJson(r));
  if (!result.ok) {
    error = result.error;
    return false;
  }
  return true;
}

// What one capture produced, made on a worker thread.
struct Produced {
  bool ok = false;
  check::JsonRecords records;
  std::string error, notes;
  ReplayStats stats;
};

// Every capture's records, `threads` captures at a time (each replay is
// independent); the results are used in capture order, so the output does
// not depend on the thread count.
std::vector<Produced> produceAll(std::span<const Capture> captures, const std::string& impl,
                                 std::chrono::seconds impl_timeout, const ReplayOptions& options, size_t threads) {
  std::vector<Produced> out(captures.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < captures.size();) {
      Produced& p = out[i];
      p.ok = produceRecords(captures[i], impl, impl_timeout, options, p.records, p.error, &p.stats, p.notes);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < std::min(threads, captures.size()); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

struct ProtocolSummary {
  size_t captures = 0, failed = 0, records = 0, matched = 0, mismatched = 0, missing = 0, extra = 0;
  size_t mapping_violations = 0;
};

}  // namespace

int checkCommand(Args args) {
  std::vector<std::string> inputs;
  std::string golden_dir = "golden";
  std::string junit_path;
  std::string impl;
  std::string memory_limit;
  bool update = false;
  bool quiet = false;
  bool no_metrics = false;
  int64_t max_diffs = 20;
  int64_t impl_timeout_s = 600;
  int64_t threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 1024);
  ArgParser p("check", "[CORPUS_DIR|CAPTURE...] [options]",
              "Replays every capture (corpus/<proto>/<name>.pcap, .pcapng, or SkyWalking .json) and compares\n"
              "the records with golden/<proto>/<name>.jsonl field by field, verifies every record against\n"
              "golden/mapping/<proto>.tsv (the published mapping table in checkable form), and compares\n"
              "metrics with golden/<proto>/<name>.metrics.json. Exit status 0 only when everything matches.\n"
              "With --impl, an external decoder is checked instead of the built-in one, each capture within\n"
              "--impl-timeout. A folder given (or found) with no captures is an error; a protocol folder with\n"
              "no golden/mapping/<proto>.tsv is checked against its goldens only, with a WARNING on stderr\n"
              "and a count under the summary (so a new protocol is loud until its table lands).");
  p.positionals(&inputs, "CORPUS_DIR|CAPTURE", "folders are searched recursively (default: corpus)");
  p.option("--golden", &golden_dir, "DIR", "golden folder (default: golden)");
  p.flag("--update", &update, "rewrite the goldens (records and metrics) from this run; review with git diff");
  p.option("--junit", &junit_path, "FILE", "also write a JUnit XML report (one testcase per capture)");
  p.option("--impl", &impl, "CMD",
           "check an external decoder: CMD with {pcap} replaced by the capture path must print JSON Lines");
  p.option("--memory-limit", &memory_limit, "SIZE", kMemoryLimitHelp);
  p.option("--impl-timeout", &impl_timeout_s, "SECONDS",
           "--impl: a capture whose command runs longer fails, and the command is killed (default 600)", 1, 86400);
  p.option("--max-diffs", &max_diffs, "N", "differences shown per capture (default 20)", 0, 1'000'000);
  p.option("--threads", &threads, "N", "captures replayed at once (default: every core), sharing --memory-limit; output is the\n"
           "                           same whatever N", 1, 1024);
  p.flag("--no-metrics", &no_metrics, "do not print the metrics table of all records at the end");
  p.flag("-q", &quiet, "print only failures and the summary");
  p.examples(
      "  l7conform check                                  # corpus/ against golden/\n"
      "  l7conform check corpus/mqtt --update             # regenerate MQTT goldens, then: git diff golden/\n"
      "  l7conform check --impl 'my-agent --pcap {pcap}'  # check another decoder's JSON Lines\n"
      "  l7conform check --junit report.xml               # for CI dashboards");
  int code = 0;
  if (!p.parse(args, code)) return code;
  if (p.given("--impl") && impl.empty()) {
    std::fprintf(stderr, "l7conform check: --impl needs a command (leave --impl out to check the built-in decoder)\n");
    return 2;
  }
  if (inputs.empty()) inputs.push_back("corpus");
  uint64_t memory_limit_bytes = 0;
  if (!parseMemoryLimit("check", memory_limit, memory_limit_bytes)) return 2;

  std::vector<Capture> captures;
  std::vector<std::string> errors;
  for (const auto& in : inputs) collect(in, captures, errors);
  for (const auto& e : errors) std::fprintf(stderr, "l7conform check: %s\n", e.c_str());
  if (captures.empty()) {
    std::fprintf(stderr, "l7conform check: FAILED: nothing was checked\n");
    return 1;
  }

  // Captures replay `threads` at a time, in windows of a few per thread so
  // that only a window's records are held; the memory budget is shared out
  // between the replays running at once.
  const size_t workers = static_cast<size_t>(threads);
  const size_t window = workers * 4;
  ReplayOptions options;
  options.memory_limit_bytes = std::max<uint64_t>(memory_limit_bytes / workers, uint64_t{16} << 20);
  std::map<std::string, ProtocolSummary> summary;
  std::map<std::string, check::MappingTable> tables;
  std::map<std::string, size_t> unmapped;  // captures per protocol folder without a mapping table
  std::vector<check::JunitCase> junit;
  check::MetricsAccumulator all_metrics;  // the table of all records at the end
  ReplayStats replay_stats;
  bool all_ok = errors.empty();

  std::vector<Produced> produced;
  for (size_t index = 0; index < captures.size(); ++index) {
    if (index % window == 0) {
      const size_t n = std::min(window, captures.size() - index);
      produced = produceAll(std::span<const Capture>(captures).subspan(index, n), impl,
                            std::chrono::seconds(impl_timeout_s), options, workers);
    }
    const Capture& c = captures[index];
    Produced& made = produced[index % window];
    ProtocolSummary& s = summary[c.protocol];
    ++s.captures;
    const std::string label = c.protocol + "/" + c.name;
    const fs::path golden = fs::path(golden_dir) / c.protocol / (c.name + ".jsonl");
    const fs::path golden_metrics = fs::path(golden_dir) / c.protocol / (c.name + ".metrics.json");
    check::JunitCase jc{c.protocol, c.name, "", ""};
    std::ostringstream failure;

    check::JsonRecords actual = std::move(made.records);
    std::string error;
    std::fputs(made.notes.c_str(), stderr);
    replay_stats.add(made.stats);
    if (!made.ok) failure << label << ": " << made.error << "\n";
    s.records += actual.size();
    for (const auto& r : actual) all_metrics.add(r);
    const boost::json::value metrics = check::computeMetrics(actual);

    if (update && failure.str().empty()) {
      std::string text;
      for (const auto& r : actual) text += check::canonicalLine(r) + "\n";
      if (!writeFile(golden, text, error) || !writeFile(golden_metrics, check::metricsToText(metrics), error)) {
        failure << error << "\n";
      } else if (!quiet) {
        std::printf("updated  %-40s %zu records\n", label.c_str(), actual.size());
      }
      s.matched += actual.size();
    } else if (failure.str().empty()) {
      check::JsonRecords expected;
      if (!check::loadJsonLines(golden.string(), expected, error)) {
        failure << label << ": no golden (" << error << "); run: l7conform check " << c.path.string()
                << " --update\n";
      } else {
        const auto cmp = check::compareRecords(expected, actual);
        s.matched += cmp.matched;
        s.mismatched += cmp.mismatched;
        s.missing += cmp.missing;
        s.extra += cmp.extra;
        if (!cmp.ok()) failure << check::formatComparison(label, cmp, expected, actual, static_cast<size_t>(max_diffs));
      }
      std::string metrics_text;
      if (readFile(golden_metrics, metrics_text)) {
        if (metrics_text != check::metricsToText(metrics))
          failure << label << ": metrics differ from " << golden_metrics.string() << "\n"
                  << "    expected: " << metrics_text << "    got:      " << check::metricsToText(metrics);
      } else {
        failure << label << ": no metrics golden " << golden_metrics.string() << "\n";
      }
    }

    // Mapping check (with the folder's table, when it has one).
    const fs::path mapping_path = fs::path(golden_dir) / "mapping" / (c.protocol + ".tsv");
    // A folder without a table (a protocol that has just landed, a folder
    // of one's own) is still checked against its goldens; that its mapping
    // is not is said once, loudly, and counted in the summary.
    if (!tables.count(c.protocol) && !fs::exists(mapping_path) && unmapped[c.protocol]++ == 0) {
      std::fprintf(stderr,
                   "l7conform check: WARNING: no mapping table %s: records of %s are NOT checked against a "
                   "mapping (write the table; see golden/mapping/README.md)\n",
                   mapping_path.c_str(), c.protocol.c_str());
    }
    if (!tables.count(c.protocol) && fs::exists(mapping_path)) {
      check::MappingTable t;
      if (check::loadMappingTable(mapping_path.string(), t, error)) {
        tables[c.protocol] = std::move(t);
      } else {
        failure << error << "\n";
      }
    }
    if (auto t = tables.find(c.protocol); t != tables.end()) {
      const auto violations = check::checkMapping(t->second, actual);
      s.mapping_violations += violations.size();
      size_t shown = 0;
      for (const auto& v : violations) {
        if (shown++ >= static_cast<size_t>(max_diffs)) {
          failure << label << ": ... " << violations.size() - shown + 1 << " more mapping violations\n";
          break;
        }
        failure << label << ": mapping: " << v.message << "\n";
      }
    }

    const std::string text = failure.str();
    if (!text.empty()) {
      all_ok = false;
      ++s.failed;
      jc.failure = text;
      std::printf("FAIL     %s\n%s", label.c_str(), text.c_str());
    } else if (!quiet && !update) {
      std::printf("ok       %-40s %zu records\n", label.c_str(), actual.size());
    }
    junit.push_back(std::move(jc));
  }

  std::printf("\n%-12s %8s %8s %8s %8s %10s %8s %8s %8s\n", "protocol", "captures", "failed", "records", "matched",
              "mismatched", "missing", "extra", "mapping");
  ProtocolSummary total;
  for (const auto& [proto, s] : summary) {
    std::printf("%-12s %8zu %8zu %8zu %8zu %10zu %8zu %8zu %8zu\n", proto.c_str(), s.captures, s.failed, s.records,
                s.matched, s.mismatched, s.missing, s.extra, s.mapping_violations);
    total.captures += s.captures;
    total.failed += s.failed;
    total.records += s.records;
    total.matched += s.matched;
    total.mismatched += s.mismatched;
    total.missing += s.missing;
    total.extra += s.extra;
    total.mapping_violations += s.mapping_violations;
  }
  std::printf("%-12s %8zu %8zu %8zu %8zu %10zu %8zu %8zu %8zu\n", "total", total.captures, total.failed,
              total.records, total.matched, total.mismatched, total.missing, total.extra, total.mapping_violations);
  for (const auto& [proto, n] : unmapped) {
    std::printf("WARNING: %zu %s capture%s not checked against a mapping: no %s\n", n, proto.c_str(),
                n == 1 ? "" : "s", (fs::path(golden_dir) / "mapping" / (proto + ".tsv")).c_str());
  }
  if (!no_metrics && !quiet && total.records > 0) {
    std::printf("\n");
    check::printMetricsTable(stdout, all_metrics.result());
  }
  // The replay counters of every capture together, as `replay` prints them.
  if (impl.empty() && !quiet && replay_stats.packets > 0) {
    std::fflush(stdout);  // the tables above first, when both go to one terminal
    replay_stats.print(stderr);
  }
  if (!junit_path.empty()) {
    std::string error;
    if (!check::writeJunit(junit_path, "l7conform check", junit, error)) {
      std::fprintf(stderr, "l7conform check: %s\n", error.c_str());
      return 1;
    }
  }
  std::printf("%s\n", all_ok ? (update ? "goldens updated; review them with: git diff golden/" : "all captures match")
                             : "some captures do not match (see above)");
  return all_ok ? 0 : 1;
}

}  // namespace l7h::cli
