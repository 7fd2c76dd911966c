// l7conform versions: the version matrix — per protocol and version, what
// the decoder claims, what the synthesizer covers, whether the round-trip
// property holds, and which real captures in corpus/ exercise it.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "l7/registry.h"
#include "session/replay.h"
#include "synth/synthesizer.h"

namespace fs = std::filesystem;

namespace l7h::cli {
namespace {

struct Row {
  std::string protocol, version;
  bool claimed = false, synthesized = false;
  std::string property;  // "pass 50/50", "FAIL 3/50 (seed N)", "-"
  std::vector<std::string> captures;
};

}  // namespace

int versionsCommand(Args args) {
  std::string write_path;
  std::string corpus = "corpus";
  int64_t cases = 50;
  ArgParser p("versions", "[--write golden/versions.md] [--cases N]",
              "Prints the version matrix: for every protocol version, whether the decoder claims it, whether\n"
              "the synthesizer generates it, the result of the round-trip property (synthesize, replay,\n"
              "compare with the model's expected records) and which real captures exercise it. To validate a\n"
              "new protocol version: add it to the generator, run this, see what breaks.");
  p.option("--write", &write_path, "FILE", "also write the matrix as Markdown (golden/versions.md)");
  p.option("--corpus", &corpus, "DIR", "corpus to scan for real captures (default corpus)");
  p.option("--cases", &cases, "N", "round-trip cases per version (default 50)", 1, 1'000'000);
  int code = 0;
  if (!p.parse(args, code)) return code;

  std::vector<Row> rows;
  bool all_pass = true;
  for (const l7::DecoderInfo& d : l7::allDecoders()) {
    const synth::Generator* g = synth::findGenerator(d.key);
    // Natural order: text first, then a trailing number as a number
    // ("Fetch v2" before "Fetch v10", "3.1" before "3.1.1" before "5.0").
    auto byVersion = [](const std::string& a, const std::string& b) {
      auto split = [](const std::string& v) {
        const size_t digits = v.find_last_not_of("0123456789") + 1;  // npos + 1 == 0: all digits
        const std::string number = v.substr(digits);
        return std::tuple(v.substr(0, digits), number.size(), number);
      };
      return split(a) < split(b);
    };
    std::set<std::string, decltype(byVersion)> versions(byVersion);
    for (std::string_view v : d.versions) versions.emplace(v);
    if (g != nullptr) versions.insert(g->versions.begin(), g->versions.end());
    if (versions.empty()) versions.insert("(not stated)");
    // Real captures of this protocol, decoded once.
    std::vector<std::pair<std::string, std::vector<l7::Record>>> captures;
    const fs::path dir = fs::path(corpus) / std::string(d.key);
    std::error_code ec;
    if (fs::is_directory(dir, ec)) {
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() != ".pcap" && e.path().extension() != ".pcapng") continue;
        captures.emplace_back(e.path().filename().string(), replayCaptureToVector(e.path().string(), ReplayOptions{}));
      }
      std::sort(captures.begin(), captures.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    for (const std::string& v : versions) {
      Row row;
      row.protocol = std::string(d.name);
      row.version = v;
      row.claimed = std::find(d.versions.begin(), d.versions.end(), v) != d.versions.end();
      row.synthesized = g != nullptr && std::find(g->versions.begin(), g->versions.end(), v) != g->versions.end();
      if (row.synthesized) {
        const auto check = synth::checkVersion(*g, v, static_cast<size_t>(cases));
        std::ostringstream s;
        if (check.passed == check.cases) {
          s << "pass " << check.passed << "/" << check.cases;
        } else {
          all_pass = false;
          s << "FAIL " << check.cases - check.passed << "/" << check.cases << " (seed " << check.failing_seed << ")";
        }
        row.property = s.str();
      } else {
        row.property = "-";
      }
      if (g != nullptr && g->record_shows_version != nullptr) {
        for (const auto& [name, records] : captures) {
          if (std::any_of(records.begin(), records.end(),
                          [&](const l7::Record& r) { return g->record_shows_version(r, v); }))
            row.captures.push_back(name);
        }
      }
      rows.push_back(std::move(row));
    }
  }

  auto joined = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("-") : s;
  };
  std::printf("%-10s %-14s %-8s %-6s %-22s %s\n", "protocol", "version", "claimed", "synth", "property", "real captures");
  for (const Row& r : rows) {
    std::printf("%-10s %-14s %-8s %-6s %-22s %s\n", r.protocol.c_str(), r.version.c_str(), r.claimed ? "yes" : "no",
                r.synthesized ? "yes" : "no", r.property.c_str(), joined(r.captures).c_str());
  }
  if (!write_path.empty()) {
    std::ostringstream md;
    md << "# Version matrix\n\n"
       << "Generated by `l7conform versions --write " << write_path << "` (also `./run check --update`).\n"
       << "Claimed: the decoder states it decodes the version. Synth: the synthesizer generates it.\n"
       << "Property: synthesized conversations (" << cases
       << " per version, mixed segmentation, reordering, retransmission and mid-stream joins) replayed and\ncompared with the "
       << "model's expected records. Real captures: files in corpus/ whose records show the version.\n\n"
       << "| protocol | version | claimed | synth | property | real captures |\n|---|---|---|---|---|---|\n";
    for (const Row& r : rows) {
      md << "| " << r.protocol << " | " << r.version << " | " << (r.claimed ? "yes" : "no") << " | "
         << (r.synthesized ? "yes" : "no") << " | " << r.property << " | " << joined(r.captures) << " |\n";
    }
    std::ofstream out(write_path, std::ios::trunc);
    if (!(out << md.str())) {
      std::fprintf(stderr, "l7conform versions: cannot write %s\n", write_path.c_str());
      return 1;
    }
  }
  return all_pass ? 0 : 1;
}

}  // namespace l7h::cli
