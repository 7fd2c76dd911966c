// The SkyWalking REST receiver on an ephemeral loopback port, driven by a
// plain socket client: every status code, pipelining, concurrency, a slow
// client, a client that leaves mid-body, and shutdown.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "skywalking/receiver.h"

namespace l7h::skywalking {
namespace {

const std::string kSegment = R"({"traceId":"T","traceSegmentId":"S","service":"svc","spans":[
  {"spanId":0,"parentSpanId":-1,"startTime":1000,"endTime":1100,"spanType":"Entry","operationName":"/a"},
  {"spanId":1,"parentSpanId":0,"startTime":1010,"endTime":1090,"spanType":"Exit","operationName":"/b"}]})";

class Server {
 public:
  explicit Server(ReceiverOptions options = {}) {
    options.port = 0;
    receiver_ = std::make_unique<Receiver>(options, [this](const std::vector<l7::Record>& records) {
      std::lock_guard lock(mutex_);
      records_ += records.size();
      return true;
    });
    std::string error;
    EXPECT_TRUE(receiver_->listen(error)) << error;
    thread_ = std::thread([this] { receiver_->run(); });
  }
  ~Server() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      receiver_->stop();
      thread_.join();
    }
  }
  uint16_t port() const { return receiver_->port(); }
  size_t records() {
    std::lock_guard lock(mutex_);
    return records_;
  }

 private:
  std::unique_ptr<Receiver> receiver_;
  std::thread thread_;
  std::mutex mutex_;
  size_t records_ = 0;
};

int connectTo(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};  // a safety net, not a timing assertion
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

void sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads `count` responses; returns their status codes.
std::vector<int> readStatuses(int fd, size_t count) {
  std::vector<int> statuses;
  std::string buffer;
  char chunk[4096];
  while (statuses.size() < count) {
    const size_t header_end = buffer.find("\r\n\r\n");
    if (header_end != std::string::npos) {
      const int status = std::atoi(buffer.c_str() + 9);
      size_t length = 0;
      const size_t cl = buffer.find("Content-Length: ");
      if (cl != std::string::npos && cl < header_end) length = std::strtoul(buffer.c_str() + cl + 16, nullptr, 10);
      if (buffer.size() >= header_end + 4 + length) {
        statuses.push_back(status);
        buffer.erase(0, header_end + 4 + length);
        continue;
      }
    }
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  return statuses;
}

std::string request(std::string_view method, std::string_view path, std::string_view body,
                    std::string_view extra_headers = "") {
  return std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra_headers) +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

int roundTrip(uint16_t port, const std::string& req) {
  const int fd = connectTo(port);
  sendAll(fd, req);
  const auto statuses = readStatuses(fd, 1);
  ::close(fd);
  return statuses.empty() ? -1 : statuses[0];
}

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
  char c;
  EXPECT_LE(::recv(idle, &c, 1, 0), 0);  // the server closed it
  ::close(idle);
  EXPECT_EQ(server.records(), 2u);
}

}  // namespace
}  // namespace l7h::skywalking
