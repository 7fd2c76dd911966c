// `l7conform serve` as a child process for the tests that drive the real
// binary (serve_test.cc, grpc_receiver_test.cc), and what they check with.
#pragma once

#include <set>

#include "http_test_util.h"

#ifndef L7CONFORM_BIN
#error "L7CONFORM_BIN: the path of the l7conform binary (tests/skywalking/CMakeLists.txt)"
#endif
#ifndef L7_CURL
#define L7_CURL "/usr/bin/curl"
#endif

namespace l7h::skywalking::test {

// `l7conform serve` on free loopback ports (--listen and --grpc
// 127.0.0.1:0; the ports are read from its "listening on" lines), records
// to a temp file. `extra` may turn a listener off (--no-http, --no-grpc).
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> extra = {}) {
    out_ = dir_.path() + "/spans.jsonl";
    const auto has = [&](std::string_view flag) { return std::find(extra.begin(), extra.end(), flag) != extra.end(); };
    const bool http = !has("--no-http");
#ifdef L7_HAVE_GRPC
    const bool grpc = !has("--no-grpc");
#else
    const bool grpc = false;
    if (!has("--no-grpc")) extra.push_back("--no-grpc");
#endif
    std::vector<std::string> argv = {L7CONFORM_BIN, "serve", "-o", out_};
    if (http) argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
    if (grpc) argv.insert(argv.end(), {"--grpc", "127.0.0.1:0"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(argv);
    // The gRPC line comes after the HTTP one.
    if (!child_->started() || !child_->waitForStderr(grpc ? "ManagementService)" : "(POST /v3/segment")) return;
    port_ = portAfter("serve: listening on 127.0.0.1:");
    grpc_port_ = portAfter("gRPC listening on 127.0.0.1:");
  }
  uint16_t port() const { return port_; }
  uint16_t grpcPort() const { return grpc_port_; }
  pid_t pid() const { return child_->pid(); }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  ProcessResult wait() { return child_->wait(); }
  std::vector<std::string> records() const { return readLines(out_); }
  const TempDir& dir() const { return dir_; }

 private:
  uint16_t portAfter(std::string_view text) const {
    const size_t at = child_->err().find(text);
    return at == std::string::npos ? 0 : static_cast<uint16_t>(std::atoi(child_->err().c_str() + at + text.size()));
  }

  TempDir dir_;
  std::string out_;
  std::unique_ptr<Child> child_;
  uint16_t port_ = 0, grpc_port_ = 0;
};

inline int post(const std::string& url, const std::string& file, const std::string& token) {
  std::vector<std::string> argv = {L7_CURL, "-q", "-sS", "--noproxy", "*", "--max-time", "10", "-o", "/dev/null",
                                   "-w", "%{http_code}", "--data-binary", "@" + file};
  if (!token.empty()) argv.insert(argv.end(), {"-H", "Authentication: " + token});
  argv.push_back(url);
  const ProcessResult r = runProcess(argv);
  return r.exit_code == 0 ? std::atoi(r.out.c_str()) : -1;
}

inline std::set<std::string> spanIds(const std::vector<std::string>& lines) {
  std::set<std::string> ids;
  constexpr std::string_view kKey = "\"span_id\":\"";
  for (const auto& line : lines) {
    const size_t at = line.find(kKey);
    if (at == std::string::npos) continue;
    const size_t from = at + kKey.size();
    ids.insert(line.substr(from, line.find('"', from) - from));
  }
  return ids;
}

}  // namespace l7h::skywalking::test
