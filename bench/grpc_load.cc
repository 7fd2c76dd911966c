// A gRPC load driver for the SkyWalking receiver (`l7conform serve --grpc`):
// several connections, each streaming segments over collect the way the
// agents do (a stream per batch), for a fixed time. Prints segments/s and
// spans/s acknowledged (a stream's segments count once its call ends OK),
// which bench/receiver_load.sh checks against the server's own count.
//
// usage: l7_grpc_load HOST:PORT SEGMENT_JSON [SECONDS] [CONNECTIONS] [SEGMENTS_PER_STREAM]
//        defaults: 10 s, 4 connections, 50 segments per stream
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tracing.grpc.pb.h"

namespace {

namespace v3 = ::skywalking::v3;
using Clock = std::chrono::steady_clock;

int usage() {
  std::fprintf(stderr, "usage: l7_grpc_load HOST:PORT SEGMENT_JSON [SECONDS] [CONNECTIONS] [SEGMENTS_PER_STREAM]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string target = argv[1];
  const double seconds = argc > 3 ? std::atof(argv[3]) : 10.0;
  const int connections = argc > 4 ? std::atoi(argv[4]) : 4;
  const int per_stream = argc > 5 ? std::atoi(argv[5]) : 50;
  if (seconds <= 0 || seconds > 3600 || connections <= 0 || connections > 256 || per_stream <= 0) return usage();

  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  v3::SegmentObject segment;
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  if (const auto status = google::protobuf::util::JsonStringToMessage(text.str(), &segment, lenient); !status.ok()) {
    std::fprintf(stderr, "l7_grpc_load: %s: %s\n", argv[2], status.ToString().c_str());
    return 1;
  }
  const int spans = segment.spans_size();

  std::atomic<uint64_t> acked{0}, failed_calls{0}, streams{0};
  std::atomic<bool> printed_error{false};
  const auto start = Clock::now();
  const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
      auto stub = v3::TraceSegmentReportService::NewStub(
          grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
      v3::SegmentObject mine = segment;
      uint64_t n = 0;
      while (Clock::now() < stop_at) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        v3::Commands reply;
        auto writer = stub->collect(&context, &reply);
        int written = 0;
        for (; written < per_stream; ++written) {
          // Distinct ids, as real segments have.
          mine.set_tracesegmentid("load-" + std::to_string(c) + "-" + std::to_string(++n));
          if (!writer->Write(mine)) break;
        }
        writer->WritesDone();
        const grpc::Status status = writer->Finish();
        ++streams;
        if (status.ok()) {
          acked += static_cast<uint64_t>(written);
        } else {
          ++failed_calls;
          if (!printed_error.exchange(true)) {
            std::fprintf(stderr, "l7_grpc_load: a call failed: %d %s\n", status.error_code(),
                         status.error_message().c_str());
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("segments/s: %.0f (%llu segments in %llu streams, %llu failed calls, %.1f s)\n",
              static_cast<double>(acked) / elapsed, static_cast<unsigned long long>(acked.load()),
              static_cast<unsigned long long>(streams.load()), static_cast<unsigned long long>(failed_calls.load()),
              elapsed);
  std::printf("spans/s:    %.0f (%d spans per segment)\n", static_cast<double>(acked) * spans / elapsed, spans);
  std::printf("acked spans: %llu\n", static_cast<unsigned long long>(acked.load() * static_cast<uint64_t>(spans)));
  return failed_calls == 0 ? 0 : 1;
}
