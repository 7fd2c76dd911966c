// The SkyWalking REST receiver on an ephemeral loopback port, driven by a
// plain socket client for what real clients will not do on purpose: every
// status code, pipelining, concurrency, a slow client, a client that leaves
// mid-body or stalls mid-request (timeouts), and shutdown. curl_test.cc uses
// a real HTTP client; serve_test.cc the real `l7conform serve` binary.
#include <atomic>

#include "http_test_util.h"

namespace l7h::skywalking {
namespace {

using namespace test;

const std::string kSegment = segmentJson();

TEST(Receiver, StatusCodes) {
  ReceiverOptions options;
  options.body_limit = 4096;
  Server server(options);
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segment", kSegment)), 200);
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segments", "[" + kSegment + "," + kSegment + "]")), 200);
  EXPECT_EQ(server.records(), 6u);
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segment", "{nope")), 400);
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segments", kSegment)), 400);  // needs an array
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/other", kSegment)), 404);
  EXPECT_EQ(roundTrip(server.port(), request("GET", "/v3/segment", "")), 405);
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segment", std::string(5000, ' '))), 413);
  EXPECT_EQ(server.records(), 6u);
}

TEST(Receiver, AuthenticationToken) {
  ReceiverOptions options;
  options.auth_token = "s3cret";
  Server server(options);
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segment", kSegment)), 401);
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segment", kSegment, "Authentication: wrong\r\n")), 401);
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segment", kSegment, "Authentication: s3cret\r\n")), 200);
  EXPECT_EQ(server.records(), 2u);
}

TEST(Receiver, PipelinedAndKeptAlive) {
  Server server;
  const int fd = connectTo(server.port());
  std::string batch;
  for (int i = 0; i < 5; ++i) batch += request("POST", "/v3/segment", kSegment);
  sendAll(fd, batch);
  const auto statuses = readStatuses(fd, 5);
  ::close(fd);
  EXPECT_EQ(statuses, std::vector<int>(5, 200));
  EXPECT_EQ(server.records(), 10u);
}

TEST(Receiver, ConcurrentClientsLoseNothing) {
  Server server;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i) ok += roundTrip(server.port(), request("POST", "/v3/segment", kSegment)) == 200;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 80);
  EXPECT_EQ(server.records(), 160u);
}

TEST(Receiver, SlowClientAndClientGoneMidBody) {
  Server server;
  // A client that sends one byte at a time is still served.
  const std::string req = request("POST", "/v3/segment", kSegment);
  const int slow = connectTo(server.port());
  for (char c : req) {
    sendAll(slow, std::string_view(&c, 1));
    if (c == '\n') std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(readStatuses(slow, 1), std::vector<int>{200});
  ::close(slow);
  // A client that leaves in the middle of its body costs nothing else.
  const int gone = connectTo(server.port());
  const std::string partial = req.substr(0, req.size() - 20);
  sendAll(gone, partial);
  ::close(gone);
  EXPECT_EQ(roundTrip(server.port(), req), 200);
  EXPECT_EQ(server.records(), 4u);
}

TEST(Receiver, StopReturnsWithAnIdleKeepAliveConnectionOpen) {
  Server server;
  const int idle = connectTo(server.port());
  sendAll(idle, request("POST", "/v3/segment", kSegment));
  EXPECT_EQ(readStatuses(idle, 1), std::vector<int>{200});
  server.stop();  // must not wait for the idle connection's 30 s timeout
  EXPECT_EQ(recvAfter(idle), 0);  // the server closed it
  ::close(idle);
  EXPECT_EQ(server.records(), 2u);
}

TEST(Receiver, MalformedHttpGets400AndAnOversizedHeader431) {
  Server server;
  const int bad = connectTo(server.port());
  sendAll(bad, "NOT HTTP AT ALL\r\n\r\n");
  const auto responses = readResponses(bad, 1);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 400);
  EXPECT_NE(responses[0].body.find("malformed HTTP request"), std::string::npos) << responses[0].body;
  EXPECT_EQ(recvAfter(bad), 0);  // then closed: the stream cannot be trusted after bad syntax
  ::close(bad);
  const std::string huge_header = "X-Filler: " + std::string(16 * 1024, 'a') + "\r\n";
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segment", kSegment, huge_header)), 431);
  EXPECT_EQ(server.records(), 0u);
}

TEST(Receiver, OversizedBodyIs413WhileTheClientIsStillSending) {
  ReceiverOptions options;
  options.body_limit = 4096;
  Server server(options);
  // The 413 goes out after the header, with the 200 KiB body still coming.
  // (The server then drains the rest before closing, RFC 9112 section 9.6;
  // Linux loopback does not show the reset that avoids, so only the outcome
  // is checked: the whole body could be sent, the 413 read, the close clean.)
  const int fd = connectTo(server.port(), 5s);
  std::atomic<bool> sent_all{false};
  std::thread sender([&] {
    sent_all = sendAll(fd, request("POST", "/v3/segments", std::string(200 * 1024, ' ')));
    ::shutdown(fd, SHUT_WR);
  });
  const auto responses = readResponses(fd, 1);
  sender.join();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 413);
  EXPECT_NE(responses[0].head.find("Connection: close"), std::string::npos) << responses[0].head;
  EXPECT_TRUE(sent_all);
  EXPECT_EQ(recvAfter(fd), 0) << std::strerror(errno);
  ::close(fd);
}

TEST(Receiver, ExpectContinueGets100BeforeTheBody) {
  Server server;
  const int fd = connectTo(server.port(), 5s);
  const std::string req = request("POST", "/v3/segment", kSegment, "Expect: 100-continue\r\n");
  const size_t body_at = req.size() - kSegment.size();
  sendAll(fd, req.substr(0, body_at));
  EXPECT_EQ(readStatuses(fd, 1), std::vector<int>{100});  // a client waiting for it would otherwise stall
  sendAll(fd, req.substr(body_at));
  EXPECT_EQ(readStatuses(fd, 1), std::vector<int>{200});
  ::close(fd);
  EXPECT_EQ(server.records(), 2u);
}

TEST(Receiver, IdleTimeoutClosesWithoutAResponse) {
  ReceiverOptions options;
  options.idle_timeout = 200ms;
  options.read_timeout = 10s;
  Server server(options);
  // A connection that never starts a request.
  const int silent = connectTo(server.port(), 5s);
  EXPECT_EQ(recvAfter(silent), 0);  // closed by the server, no bytes: there was nothing to answer
  ::close(silent);
  // A kept-alive connection after its request.
  const int kept = connectTo(server.port(), 5s);
  sendAll(kept, request("POST", "/v3/segment", kSegment));
  EXPECT_EQ(readStatuses(kept, 1), std::vector<int>{200});
  EXPECT_EQ(recvAfter(kept), 0);
  ::close(kept);
  EXPECT_EQ(server.records(), 2u);
  EXPECT_EQ(server.stats().timeouts, 0u);  // idle closes are not 408s
}

TEST(Receiver, ReadTimeoutAnswers408ToAStalledRequest) {
  ReceiverOptions options;
  options.idle_timeout = 4s;  // longer: the 408 must come from the read timeout
  options.read_timeout = 200ms;
  Server server(options);
  const std::string req = request("POST", "/v3/segment", kSegment);
  for (const size_t cut : {size_t{20}, req.size() - 30}) {  // mid-header, then mid-body
    SCOPED_TRACE(cut);
    const int fd = connectTo(server.port(), 5s);
    sendAll(fd, req.substr(0, cut));
    const auto responses = readResponses(fd, 1);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].status, 408);
    EXPECT_NE(responses[0].head.find("Connection: close"), std::string::npos) << responses[0].head;
    EXPECT_NE(responses[0].body.find("read timeout"), std::string::npos) << responses[0].body;
    EXPECT_EQ(recvAfter(fd), 0);
    ::close(fd);
  }
  EXPECT_EQ(server.records(), 0u);
  EXPECT_EQ(server.stats().timeouts, 2u);
  EXPECT_EQ(roundTrip(server.port(), req), 200);  // the server is fine afterwards
}

TEST(Receiver, ReadTimeoutIsADeadlineForTheWholeRequestNotPerByte) {
  ReceiverOptions options;
  options.idle_timeout = 4s;
  options.read_timeout = 300ms;
  Server server(options);
  // Every gap between bytes is far shorter than the read timeout, the whole
  // request far longer (~100 bytes, one per 20 ms): only a deadline on the
  // request as a whole ends it.
  const std::string req = request("POST", "/v3/segment", "{}");
  const int fd = connectTo(server.port(), 5s);
  std::atomic<bool> answered{false};
  std::thread trickle([&] {
    for (char c : req) {
      if (answered) return;
      sendAll(fd, std::string_view(&c, 1));
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto statuses = readStatuses(fd, 1);
  answered = true;
  trickle.join();
  ::close(fd);
  EXPECT_EQ(statuses, std::vector<int>{408});
}

TEST(Receiver, ConnectionsOverTheCapGet503) {
  ReceiverOptions options;
  options.max_connections = 1;
  Server server(options);
  const int first = connectTo(server.port(), 5s);
  sendAll(first, request("POST", "/v3/segment", kSegment));
  EXPECT_EQ(readStatuses(first, 1), std::vector<int>{200});  // accepted, and still open
  const int second = connectTo(server.port(), 5s);
  sendAll(second, request("POST", "/v3/segment", kSegment));
  const auto responses = readResponses(second, 1);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 503);
  EXPECT_NE(responses[0].head.find("Retry-After"), std::string::npos);
  ::close(second);
  sendAll(first, request("POST", "/v3/segment", kSegment));  // the first is still served
  EXPECT_EQ(readStatuses(first, 1), std::vector<int>{200});
  ::close(first);
  EXPECT_EQ(server.records(), 4u);
}

// One client floods the receiver with idle connections, more than the whole
// cap; another client (another loopback address) is still served. Without a
// per-address limit the flood holds every slot and the other client gets 503.
TEST(Receiver, AFloodOfIdleConnectionsFromOneAddressLeavesRoomForOthers) {
  ReceiverOptions options;
  options.max_connections = 32;
  options.max_connections_per_address = 8;
  options.idle_timeout = 60s;  // longer than the test: only the limits make room
  Server server(options);
  std::vector<int> flood;
  for (int i = 0; i < 48; ++i) {
    const int fd = connectFrom("127.0.0.2", server.port(), 5s);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    flood.push_back(fd);
  }
  ASSERT_TRUE(eventually([&] { return server.stats().connections == 48; }));
  EXPECT_EQ(server.stats().over_address_share, 40u);
  const int other = connectFrom("127.0.0.1", server.port(), 5s);
  ASSERT_GE(other, 0);
  sendAll(other, request("POST", "/v3/segment", kSegment));
  EXPECT_EQ(readStatuses(other, 1), std::vector<int>{200});
  ::close(other);
  // The flooder's own extra connections were told why.
  const auto refused = readResponses(flood.back(), 1);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status, 503);
  EXPECT_NE(refused[0].body.find("from this address"), std::string::npos) << refused[0].body;
  for (int fd : flood) ::close(fd);
  EXPECT_EQ(server.records(), 2u);
}

TEST(Receiver, IdleTimeoutShrinksAsTheReceiverNearsItsCap) {
  EXPECT_EQ(idleTimeoutUnderLoad(30s, 0, 512), 30s);
  EXPECT_EQ(idleTimeoutUnderLoad(30s, 256, 512), 30s);
  EXPECT_EQ(idleTimeoutUnderLoad(30s, 384, 512), 15s);
  EXPECT_EQ(idleTimeoutUnderLoad(30s, 512, 512), kMinIdleTimeout);
  EXPECT_EQ(idleTimeoutUnderLoad(500ms, 512, 512), 500ms);  // never longer than configured
  ReceiverOptions options;
  options.max_connections = 8;
  options.idle_timeout = 60s;
  Server server(options);
  // Idle connections from several clients fill the cap: each one admitted
  // past half shortens the wait of those already idle, down to 1 s at the
  // cap, so they are closed long before their 60 s.
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) {
    const std::string from = "127.0.0." + std::to_string(2 + i);
    const int fd = connectFrom(from.c_str(), server.port(), 10s);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  for (int fd : idle) {
    EXPECT_EQ(recvAfter(fd), 0);  // closed by the server, without a response
    ::close(fd);
  }
  EXPECT_EQ(roundTrip(server.port(), request("POST", "/v3/segment", kSegment)), 200);
}

TEST(Receiver, StopLetsARequestInFlightFinish) {
  Server server;
  const std::string req = request("POST", "/v3/segment", kSegment);
  const int fd = connectTo(server.port(), 5s);
  sendAll(fd, req.substr(0, req.size() / 2));
  ASSERT_TRUE(eventually([&] { return server.stats().connections == 1; }));
  server.requestStop();
  // Once the port refuses connections the stop has begun (the acceptor is
  // closed in the same step that tells sessions to finish).
  ASSERT_TRUE(eventually([&] { return connectionRefused(server.port()); }));
  sendAll(fd, req.substr(req.size() / 2));
  const auto responses = readResponses(fd, 1);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_NE(responses[0].head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(recvAfter(fd), 0);
  ::close(fd);
  server.stop();
  EXPECT_EQ(server.records(), 2u);
}

TEST(Receiver, StopCutsAStalledRequestShortWith408) {
  ReceiverOptions options;
  options.idle_timeout = 4s;   // bounds the test should the grace not apply
  options.read_timeout = 60s;  // the shutdown grace, not this, must end it
  Server server(options);
  const int fd = connectTo(server.port(), 5s);
  sendAll(fd, "POST /v3/segment HTTP/1.1\r\nHost: x\r\n");
  ASSERT_TRUE(eventually([&] { return server.stats().connections == 1; }));
  server.requestStop();
  const auto responses = readResponses(fd, 1);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 408);
  EXPECT_NE(responses[0].body.find("shutting down"), std::string::npos) << responses[0].body;
  ::close(fd);
  server.stop();  // returns: nothing is left waiting
}

TEST(ServeArguments, ListenAddress) {
  std::string host, error;
  uint16_t port = 1;
  EXPECT_TRUE(parseListenAddress("127.0.0.1:12800", host, port, error));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 12800);
  EXPECT_TRUE(parseListenAddress("[::1]:0", host, port, error));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  EXPECT_TRUE(parseListenAddress("0.0.0.0:65535", host, port, error));
  EXPECT_EQ(port, 65535);
  for (const char* bad : {"h:abc", "127.0.0.1:abc", "127.0.0.1:65536", "127.0.0.1:99999999999", "127.0.0.1:-1",
                          "127.0.0.1:", "127.0.0.1", ":12800", "::1:80", "[::1]", "[::1]80", "[nope]:80",
                          "localhost:12800", "127.0.0.1:80x", "127.0.0.1: 80", ""}) {
    SCOPED_TRACE(bad);
    error.clear();
    EXPECT_FALSE(parseListenAddress(bad, host, port, error));
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
  parseListenAddress("127.0.0.1:70000", host, port, error);
  EXPECT_NE(error.find("0 to 65535"), std::string::npos) << error;
  parseListenAddress("::1:80", host, port, error);
  EXPECT_NE(error.find("[::1]:12800"), std::string::npos) << error;
}

TEST(ServeArguments, Timeout) {
  std::chrono::milliseconds t{0};
  std::string error;
  EXPECT_TRUE(parseTimeout("30", t, error));
  EXPECT_EQ(t, 30s);
  EXPECT_TRUE(parseTimeout("30s", t, error));
  EXPECT_EQ(t, 30s);
  EXPECT_TRUE(parseTimeout("250ms", t, error));
  EXPECT_EQ(t, 250ms);
  EXPECT_TRUE(parseTimeout("2m", t, error));
  EXPECT_EQ(t, 120s);
  EXPECT_TRUE(parseTimeout("1440m", t, error));  // the 24 h cap itself
  for (const char* bad : {"", "0", "0s", "-5", "5x", "s", "1.5s", "1441m", "99999999999999999999", "5 s"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parseTimeout(bad, t, error));
  }
}

}  // namespace
}  // namespace l7h::skywalking
