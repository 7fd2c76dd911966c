// The real `l7conform serve` binary as a child process: segments posted with
// curl, then SIGTERM or SIGINT; it must exit 0 with every posted span in its
// -o file, finish a request that is in flight when the signal comes, and
// refuse a bad --listen with exit code 2 and one clear line.
#include <set>

#include "http_test_util.h"

namespace l7h::skywalking {
namespace {

using namespace test;

#ifndef L7CONFORM_BIN
#error "L7CONFORM_BIN: the path of the l7conform binary (tests/skywalking/CMakeLists.txt)"
#endif
#ifndef L7_CURL
#define L7_CURL "/usr/bin/curl"
#endif

// `l7conform serve` on a free loopback port (--listen 127.0.0.1:0; the port
// is read from its "listening on" line), records to a temp file.
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> extra = {}) {
    out_ = dir_.path() + "/spans.jsonl";
    std::vector<std::string> argv = {L7CONFORM_BIN, "serve", "--listen", "127.0.0.1:0", "-o", out_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(argv);
    constexpr std::string_view kListening = "listening on 127.0.0.1:";
    if (!child_->started() || !child_->waitForStderr("(POST /v3/segment")) return;
    const size_t at = child_->err().find(kListening);
    if (at != std::string::npos) port_ = static_cast<uint16_t>(std::atoi(child_->err().c_str() + at + kListening.size()));
  }
  uint16_t port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  ProcessResult wait() { return child_->wait(); }
  std::vector<std::string> records() const { return readLines(out_); }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::string out_;
  std::unique_ptr<Child> child_;
  uint16_t port_ = 0;
};

int post(const std::string& url, const std::string& file, const std::string& token) {
  std::vector<std::string> argv = {L7_CURL, "-q", "-sS", "--noproxy", "*", "--max-time", "10", "-o", "/dev/null",
                                   "-w", "%{http_code}", "--data-binary", "@" + file};
  if (!token.empty()) argv.insert(argv.end(), {"-H", "Authentication: " + token});
  argv.push_back(url);
  const ProcessResult r = runProcess(argv);
  return r.exit_code == 0 ? std::atoi(r.out.c_str()) : -1;
}

std::set<std::string> spanIds(const std::vector<std::string>& lines) {
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

class ServeSignal : public ::testing::TestWithParam<int> {};

TEST_P(ServeSignal, ExitsZeroWithEverySpanPosted) {
  if (::access(L7_CURL, X_OK) != 0) GTEST_SKIP() << L7_CURL " not found";
  ServeProcess serve({"--auth-token", "tok"});
  ASSERT_NE(serve.port(), 0) << "serve did not start";
  std::set<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    const std::string id = std::string("one").append(std::to_string(i));
    EXPECT_EQ(post(serve.url("/v3/segment"), serve.dir().file(id + ".json", segmentJson(id)), "tok"), 200);
    expected.insert({id + "-0", id + "-1"});
  }
  std::string array = "[";
  for (int i = 0; i < 3; ++i) {
    const std::string id = std::string("arr").append(std::to_string(i));
    if (i > 0) array += ",";
    array += segmentJson(id);
    expected.insert({id + "-0", id + "-1"});
  }
  array += "]";
  EXPECT_EQ(post(serve.url("/v3/segments"), serve.dir().file("array.json", array), "tok"), 200);
  EXPECT_EQ(post(serve.url("/v3/segment"), serve.dir().file("x.json", segmentJson("nope")), ""), 401);
  EXPECT_EQ(post(serve.url("/v3/segment"), serve.dir().file("y.json", segmentJson("nope")), "wrong"), 401);

  // Every 200 came after its records were flushed: they are in the file
  // before the signal.
  EXPECT_EQ(spanIds(serve.records()), expected);

  ASSERT_EQ(::kill(serve.pid(), GetParam()), 0);
  const ProcessResult r = serve.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto lines = serve.records();
  EXPECT_EQ(lines.size(), 16u);  // 8 segments x 2 spans, nothing from the 401s, nothing twice
  EXPECT_EQ(spanIds(lines), expected);
  EXPECT_NE(r.err.find("16 spans"), std::string::npos) << r.err;
}

std::string signalName(const ::testing::TestParamInfo<int>& p) { return p.param == SIGTERM ? "SIGTERM" : "SIGINT"; }
INSTANTIATE_TEST_SUITE_P(Signals, ServeSignal, ::testing::Values(SIGTERM, SIGINT), signalName);

TEST(ServeBinary, SigtermFinishesTheRequestInFlight) {
  ServeProcess serve;
  ASSERT_NE(serve.port(), 0) << "serve did not start";
  const std::string req = request("POST", "/v3/segment", segmentJson("late"));
  const int fd = connectTo(serve.port(), 8s);
  sendAll(fd, req.substr(0, req.size() / 2));
  ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);
  // A refused connection shows the signal was handled (the acceptor closes
  // in the step that tells sessions to finish); only then send the rest.
  ASSERT_TRUE(eventually([&] { return connectionRefused(serve.port()); }));
  sendAll(fd, req.substr(req.size() / 2));
  const auto responses = readResponses(fd, 1);
  ::close(fd);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200);
  const ProcessResult r = serve.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(spanIds(serve.records()), (std::set<std::string>{"late-0", "late-1"}));
}

TEST(ServeBinary, BadListenIsExitCode2WithOneClearLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"h:abc", "not an IPv4 address"},         {"127.0.0.1:abc", "port 'abc'"},
      {"127.0.0.1:65536", "0 to 65535"},        {"127.0.0.1:99999999999999999999", "0 to 65535"},
      {"127.0.0.1", "expected HOST:PORT"},      {"::1:12800", "in brackets"},
      {"[::1]12800", "expected [IPV6]:PORT"},
  };
  for (const auto& [listen, why] : cases) {
    SCOPED_TRACE(listen);
    const ProcessResult r = runProcess({L7CONFORM_BIN, "serve", "--listen", listen, "-o", "/dev/null"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("--listen"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  }
  for (const char* flag : {"--idle-timeout", "--read-timeout"}) {
    SCOPED_TRACE(flag);
    const ProcessResult r = runProcess({L7CONFORM_BIN, "serve", flag, "0", "-o", "/dev/null"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
  }
}

TEST(ServeBinary, HelpTeachesBothTimeouts) {
  const ProcessResult r = runProcess({L7CONFORM_BIN, "serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  const std::string help = r.out + r.err;
  for (const char* needle : {"--idle-timeout", "--read-timeout", "408", "[IPv6]:PORT", "500ms"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace l7h::skywalking
