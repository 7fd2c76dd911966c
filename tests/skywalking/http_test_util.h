// Helpers for the receiver tests: a receiver on an ephemeral loopback port in
// a thread, a raw socket client (for what real clients will not do: stall
// mid-header, pipeline, leave mid-body), and child processes (curl, the
// l7conform binary) run with a hard deadline so no test can hang.
//
// Every deadline here is a bound on how long a broken server can stall a
// test, never an assertion on how fast a working one is.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "skywalking/receiver.h"

extern char** environ;

namespace l7h::skywalking::test {

using namespace std::chrono_literals;

// Two spans per segment; `id` makes span ids distinct across segments.
inline std::string segmentJson(std::string_view id = "S") {
  return R"({"traceId":"T","traceSegmentId":")" + std::string(id) + R"(","service":"svc","spans":[
  {"spanId":0,"parentSpanId":-1,"startTime":1000,"endTime":1100,"spanType":"Entry","operationName":"/a"},
  {"spanId":1,"parentSpanId":0,"startTime":1010,"endTime":1090,"spanType":"Exit","operationName":"/b"}]})";
}

// A receiver in its own thread, counting the records it would write.
class Server {
 public:
  explicit Server(ReceiverOptions options = {}) {
    options.host = "127.0.0.1";
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
  // Asks the receiver to stop without waiting for run() to return.
  void requestStop() { receiver_->stop(); }
  void stop() {
    if (thread_.joinable()) {
      receiver_->stop();
      thread_.join();
    }
  }
  uint16_t port() const { return receiver_->port(); }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }
  size_t records() {
    std::lock_guard lock(mutex_);
    return records_;
  }
  ReceiverStats stats() const { return receiver_->stats(); }

 private:
  std::unique_ptr<Receiver> receiver_;
  std::thread thread_;
  std::mutex mutex_;
  size_t records_ = 0;
};

inline sockaddr_in ipv4Address(const char* address, uint16_t port = 0) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &addr.sin_addr);
  return addr;
}

// A TCP socket whose reads give up after `receive_timeout`, which only keeps
// a broken server from hanging the test.
inline int timedSocket(std::chrono::seconds receive_timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(receive_timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline int connectTo(uint16_t port, std::chrono::seconds receive_timeout = 10s) {
  const int fd = timedSocket(receive_timeout);
  const sockaddr_in addr = ipv4Address("127.0.0.1", port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  return fd;
}

// A connection from another loopback address (127.0.0.2, ...): another
// client, as far as the receiver can tell. -1 when it cannot connect.
inline int connectFrom(const char* source, uint16_t port, std::chrono::seconds receive_timeout = 10s) {
  const int fd = timedSocket(receive_timeout);
  const sockaddr_in from = ipv4Address(source);
  const sockaddr_in to = ipv4Address("127.0.0.1", port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when nothing listens on the port any more (the receiver closed its acceptor).
inline bool connectionRefused(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno == ECONNREFUSED;
  ::close(fd);
  return refused;
}

// Polls `done` every 10 ms for at most `limit`; returns its last value.
template <typename F>
bool eventually(F done, std::chrono::milliseconds limit = 5000ms) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Returns false when the connection failed (reset, closed) before all was sent.
inline bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

struct Response {
  int status = -1;
  std::string head, body;
};

// Reads up to `count` responses (fewer if the connection ends first).
inline std::vector<Response> readResponses(int fd, size_t count) {
  std::vector<Response> responses;
  std::string buffer;
  char chunk[4096];
  while (responses.size() < count) {
    const size_t header_end = buffer.find("\r\n\r\n");
    if (header_end != std::string::npos) {
      size_t length = 0;
      const size_t cl = buffer.find("Content-Length: ");
      if (cl != std::string::npos && cl < header_end) length = std::strtoul(buffer.c_str() + cl + 16, nullptr, 10);
      if (buffer.size() >= header_end + 4 + length) {
        Response r;
        r.status = std::atoi(buffer.c_str() + 9);
        r.head = buffer.substr(0, header_end);
        r.body = buffer.substr(header_end + 4, length);
        responses.push_back(std::move(r));
        buffer.erase(0, header_end + 4 + length);
        continue;
      }
    }
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  return responses;
}

inline std::vector<int> readStatuses(int fd, size_t count) {
  std::vector<int> statuses;
  for (const auto& r : readResponses(fd, count)) statuses.push_back(r.status);
  return statuses;
}

// What recv says after the responses: 0 for a clean close by the server,
// -1 for an error (including the safety-net receive timeout), else a byte count.
inline ssize_t recvAfter(int fd) {
  char c;
  return ::recv(fd, &c, 1, 0);
}

inline std::string request(std::string_view method, std::string_view path, std::string_view body,
                           std::string_view extra_headers = "") {
  return std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra_headers) +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

inline int roundTrip(uint16_t port, const std::string& req) {
  const int fd = connectTo(port);
  sendAll(fd, req);
  const auto statuses = readStatuses(fd, 1);
  ::close(fd);
  return statuses.empty() ? -1 : statuses[0];
}

// ---- child processes ----

struct ProcessResult {
  int exit_code = -1;  // -1: killed, or did not exit on its own within the limit
  std::string out, err;
};

class Child {
 public:
  // Starts argv[0] (a path) with stdout and stderr on pipes.
  explicit Child(const std::vector<std::string>& argv) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& err() const { return err_; }

  // Reads stderr until it holds `needle` or `limit` passes.
  bool waitForStderr(std::string_view needle, std::chrono::milliseconds limit = 10000ms) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (err_.find(needle) == std::string::npos) {
      if (!pump(give_up)) return false;
    }
    return true;
  }

  // Waits for the exit, reading both pipes; kills the child past `limit`.
  ProcessResult wait(std::chrono::milliseconds limit = 10000ms) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      if (!pump(give_up)) break;
    }
    ProcessResult result;
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r < 0 || std::chrono::steady_clock::now() > give_up) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        result.out = out_;
        result.err = err_;
        return result;
      }
      std::this_thread::sleep_for(5ms);
    }
    pid_ = -1;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    result.out = out_;
    result.err = err_;
    return result;
  }

 private:
  // One poll round over the open pipes; false when the deadline passed or
  // both pipes are closed.
  bool pump(std::chrono::steady_clock::time_point give_up) {
    pollfd fds[2];
    nfds_t n = 0;
    if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
    if (n == 0) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (::poll(fds, n, static_cast<int>(std::min<int64_t>(left.count(), 100))) < 0) return false;
    for (nfds_t i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int& fd = fds[i].fd == out_fd_ ? out_fd_ : err_fd_;
      std::string& sink = fds[i].fd == out_fd_ ? out_ : err_;
      char chunk[4096];
      const ssize_t got = ::read(fd, chunk, sizeof chunk);
      if (got <= 0) {
        ::close(fd);
        fd = -1;
      } else {
        sink.append(chunk, static_cast<size_t>(got));
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
};

inline ProcessResult runProcess(const std::vector<std::string>& argv, std::chrono::milliseconds limit = 15000ms) {
  Child child(argv);
  if (!child.started()) return {};
  return child.wait(limit);
}

// A fresh flat directory under $TMPDIR (or /tmp), removed with the object.
// Plain POSIX rather than std::filesystem: a path constructor the harness
// archive happens to define weakly would otherwise be linked from there.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/l7sw-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") ::unlink((path_ + "/" + name).c_str());
      }
      ::closedir(d);
    }
    ::rmdir(path_.c_str());
  }
  std::string file(std::string_view name, std::string_view content = {}) const {
    const std::string p = path_ + "/" + std::string(name);
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace l7h::skywalking::test
