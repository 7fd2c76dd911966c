// The real `l7conform serve` binary as a child process: segments posted with
// curl, then SIGTERM or SIGINT; it must exit 0 with every posted span in its
// -o file, finish a request that is in flight when the signal comes, and
// refuse a bad --listen with exit code 2 and one clear line.
#include <set>

#include "serve_process.h"

namespace l7h::skywalking {
namespace {

using namespace test;

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
  for (const char* flag : {"--idle-timeout", "--read-timeout", "--max-connections-per-address"}) {
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
  for (const char* needle : {"--idle-timeout", "--read-timeout", "408", "[IPv6]:PORT", "500ms",
                             "--max-connections-per-address", "idle timeout shrinks"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace l7h::skywalking
