// The receiver as a real HTTP client sees it: curl (a child process) against
// an ephemeral loopback port. Every status code, keep-alive reuse, parallel
// clients, and a large body sent the way curl sends it (Expect: 100-continue).
#include <algorithm>

#include "http_test_util.h"

namespace l7h::skywalking {
namespace {

using namespace test;

#ifndef L7_CURL
#define L7_CURL "/usr/bin/curl"
#endif

bool haveCurl() { return ::access(L7_CURL, X_OK) == 0; }

#define REQUIRE_CURL() \
  if (!haveCurl()) GTEST_SKIP() << L7_CURL " not found; these tests need curl"

// Each transfer prints its body, then this marker with the status code.
constexpr std::string_view kMarker = "\n@@status=";

struct Transfer {
  int status = -1;
  std::string body;
};

// Runs curl with `args` (URLs and options); returns one entry per transfer.
// -q: no ~/.curlrc; --noproxy: a proxy in the environment must not answer
// for 127.0.0.1; --max-time: bounded even if the server never answers.
std::vector<Transfer> curl(std::vector<std::string> args, int* exit_code = nullptr) {
  std::vector<std::string> argv = {L7_CURL, "-q", "-sS", "--noproxy", "*", "--max-time", "10",
                                   "-H",    "Content-Type: application/json", "-w",
                                   std::string(kMarker) + "%{http_code}@@"};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult r = runProcess(argv);
  if (exit_code != nullptr) *exit_code = r.exit_code;
  std::vector<Transfer> transfers;
  size_t at = 0;
  for (size_t m; (m = r.out.find(kMarker, at)) != std::string::npos;) {
    Transfer t;
    t.body = r.out.substr(at, m - at);
    t.status = std::atoi(r.out.c_str() + m + kMarker.size());
    transfers.push_back(std::move(t));
    at = r.out.find("@@", m + kMarker.size());
    at = at == std::string::npos ? r.out.size() : at + 2;
  }
  return transfers;
}

Transfer curlOne(std::vector<std::string> args) {
  const auto transfers = curl(std::move(args));
  return transfers.size() == 1 ? transfers[0] : Transfer{};
}

TEST(ReceiverWithCurl, EveryStatusCode) {
  REQUIRE_CURL();
  ReceiverOptions options;
  options.body_limit = 4096;
  options.auth_token = "s3cret";
  Server server(options);
  TempDir dir;
  const std::string one = dir.file("one.json", segmentJson("A"));
  const std::string many = dir.file("many.json", "[" + segmentJson("B") + "," + segmentJson("C") + "]");
  const std::string bad = dir.file("bad.json", "{\"traceId\": ");
  const std::string big = dir.file("big.json", "[" + std::string(5000, ' ') + "]");
  const std::string auth = "Authentication: s3cret";

  Transfer t = curlOne({"-H", auth, "--data-binary", "@" + one, server.url("/v3/segment")});
  EXPECT_EQ(t.status, 200);
  EXPECT_EQ(t.body, "{}");
  EXPECT_EQ(curlOne({"-H", auth, "--data-binary", "@" + many, server.url("/v3/segments")}).status, 200);
  EXPECT_EQ(server.records(), 6u);

  t = curlOne({"--data-binary", "@" + one, server.url("/v3/segment")});
  EXPECT_EQ(t.status, 401);
  EXPECT_NE(t.body.find("\"error\""), std::string::npos) << t.body;
  EXPECT_EQ(curlOne({"-H", "Authentication: guess", "--data-binary", "@" + one, server.url("/v3/segment")}).status,
            401);

  t = curlOne({"-H", auth, "--data-binary", "@" + bad, server.url("/v3/segment")});
  EXPECT_EQ(t.status, 400);
  EXPECT_NE(t.body.find("\"error\""), std::string::npos) << t.body;
  t = curlOne({"-H", auth, "--data-binary", "@" + one, server.url("/v3/segments")});  // needs an array
  EXPECT_EQ(t.status, 400);
  EXPECT_NE(t.body.find("array"), std::string::npos) << t.body;

  t = curlOne({"-H", auth, "--data-binary", "@" + one, server.url("/v3/trace")});
  EXPECT_EQ(t.status, 404);
  EXPECT_NE(t.body.find("/v3/segments"), std::string::npos) << t.body;

  t = curlOne({"-i", "-H", auth, server.url("/v3/segment")});  // a GET; -i: headers too
  EXPECT_EQ(t.status, 405);
  EXPECT_NE(t.body.find("Allow: POST"), std::string::npos) << t.body;

  t = curlOne({"-H", auth, "--data-binary", "@" + big, server.url("/v3/segments")});
  EXPECT_EQ(t.status, 413);
  EXPECT_NE(t.body.find("limit"), std::string::npos) << t.body;

  EXPECT_EQ(server.records(), 6u);  // nothing but the two 200s wrote records
}

TEST(ReceiverWithCurl, OneConnectionKeptAliveForManyPosts) {
  REQUIRE_CURL();
  Server server;
  TempDir dir;
  const std::string one = dir.file("one.json", segmentJson());
  // One curl, 20 URLs: curl reuses its connection when the server keeps it alive.
  std::vector<std::string> args = {"--data-binary", "@" + one};
  for (int i = 0; i < 20; ++i) args.push_back(server.url("/v3/segment"));
  const auto transfers = curl(args);
  ASSERT_EQ(transfers.size(), 20u);
  for (const auto& t : transfers) EXPECT_EQ(t.status, 200);
  EXPECT_EQ(server.records(), 40u);
  EXPECT_EQ(server.stats().connections, 1u);
  EXPECT_EQ(server.stats().requests, 20u);
}

TEST(ReceiverWithCurl, ParallelClientsLoseNoSpan) {
  REQUIRE_CURL();
  Server server;
  TempDir dir;
  const std::string many = dir.file("many.json", "[" + segmentJson("A") + "," + segmentJson("B") + "]");
  // Four curls at once, each with 8 transfers in parallel: 32 connections' worth.
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      std::vector<std::string> args = {"--parallel", "--parallel-max", "8", "--data-binary", "@" + many};
      for (int i = 0; i < 25; ++i) args.push_back(server.url("/v3/segments"));
      for (const auto& t : curl(args)) ok += t.status == 200;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(server.records(), 400u);  // 100 bodies x 2 segments x 2 spans
}

TEST(ReceiverWithCurl, LargeBodyWithExpectContinue) {
  REQUIRE_CURL();
  Server server;
  TempDir dir;
  // Over 1 MiB, so curl sends Expect: 100-continue. With a 30 s wait for the
  // 100 against a 5 s --max-time, only a server that answers 100 gets a 200.
  std::string body = "[";
  size_t segments = 0;
  while (body.size() < (2u << 20)) {
    if (segments > 0) body += ",";
    body += segmentJson(std::string("S").append(std::to_string(segments++)));
  }
  body += "]";
  const std::string path = dir.file("large.json", body);
  int exit_code = 0;
  const auto transfers = curl({"--max-time", "5", "--expect100-timeout", "30", "-H", "Expect: 100-continue", "--data-binary",
                               "@" + path, server.url("/v3/segments")},
                              &exit_code);
  ASSERT_EQ(transfers.size(), 1u);
  EXPECT_EQ(transfers[0].status, 200);
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(server.records(), 2 * segments);
}

}  // namespace
}  // namespace l7h::skywalking
