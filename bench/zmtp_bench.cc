// ZMTP through the production connection path on the traffic shapes that
// matter for it: a REQ/REP conversation of small multipart messages (each
// request and reply has the RFC 28 delimiter), and large messages in long
// frames, which the decoder reads from their headers and passes over
// without buffering them.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_measure.h"
#include "l7/registry.h"
#include "synth/zmtp_wire.h"

namespace {

using l7h::synth::zmtpwire::command;
using l7h::synth::zmtpwire::frame;
using l7h::synth::zmtpwire::property;

std::string ready(const std::string& type) { return command("READY", property("Socket-Type", type)); }

struct Conversation {
  std::vector<l7::Direction> dirs;
  std::vector<std::string> bytes;
  std::vector<l7bench::WireMessage> wire;
  size_t total = 0;
  size_t messages = 0;
  void add(l7::Direction d, std::string b) {
    dirs.push_back(d);
    bytes.push_back(std::move(b));
    ++messages;
  }
  void finish() {
    for (size_t i = 0; i < bytes.size(); ++i) {
      wire.emplace_back(dirs[i], bytes[i]);
      total += bytes[i].size();
    }
  }
};

// Greetings, READYs, then `n` exchanges.
Conversation reqRep(size_t n, size_t body) {
  Conversation c;
  c.add(l7::Direction::kToServer, l7h::synth::zmtpwire::greeting(1, "NULL", false));
  c.add(l7::Direction::kToClient, l7h::synth::zmtpwire::greeting(1, "NULL", false));
  c.add(l7::Direction::kToServer, ready("REQ"));
  c.add(l7::Direction::kToClient, ready("REP"));
  const std::string payload(body, 'p');
  for (size_t i = 0; i < n; ++i) {
    c.add(l7::Direction::kToServer, frame(true, false, "") + frame(true, false, "method") + frame(false, false, payload));
    c.add(l7::Direction::kToClient, frame(true, false, "") + frame(false, false, payload));
  }
  c.finish();
  return c;
}

void run(benchmark::State& state, const Conversation& c, size_t piece) {
  l7bench::measureConnection(state, l7::findDecoder("zmtp"), c.wire, c.total, c.messages, piece);
}

void BM_Zmtp_ReqRepSmall(benchmark::State& state) {
  static const Conversation c = reqRep(5000, 40);
  run(state, c, 1460);
}
void BM_Zmtp_ReqRepLongFrames(benchmark::State& state) {
  static const Conversation c = reqRep(40, 256 * 1024);
  run(state, c, 65483);
}
BENCHMARK(BM_Zmtp_ReqRepSmall);
BENCHMARK(BM_Zmtp_ReqRepLongFrames);

}  // namespace
