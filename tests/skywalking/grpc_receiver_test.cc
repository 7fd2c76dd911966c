// The SkyWalking gRPC receiver on an ephemeral loopback port: the generated
// stubs as the agents' client (collect, collectInSync, management), raw
// byte calls for what agents never send (bad protobuf, other services),
// every robustness case (size, idle deadline, stream and connection caps,
// token, shutdown drain), the same segment giving byte-identical records
// over HTTP and gRPC, and the serve binary with both listeners.
//
// Every deadline here bounds how long a broken server can stall a test; none
// asserts how fast a working one is.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>

#include "l7/record_json.h"
#include "management.grpc.pb.h"
#include "serve_process.h"
#include "skywalking/grpc_receiver.h"
#include "tracing.grpc.pb.h"

namespace l7h::skywalking {
namespace {

using namespace test;
namespace v3 = ::skywalking::v3;
using grpc::StatusCode;

constexpr auto kCallLimit = 10s;

// Records as the JSON Lines the serve command writes, in write order.
class Captured {
 public:
  Receiver::RecordBatchWriter writer() {
    return [this](const std::vector<l7::Record>& records) {
      std::lock_guard lock(mutex_);
      for (const auto& r : records) {
        std::string line;
        l7::appendRecordJson(r, line);
        lines_.push_back(std::move(line));
      }
      return true;
    };
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(lines_, {});
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return lines_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

class GrpcServer {
 public:
  explicit GrpcServer(GrpcReceiverOptions options = {}) {
    options.port = 0;  // on options.host, 127.0.0.1 unless a test listens on both families
    receiver_ = std::make_unique<GrpcReceiver>(options, captured_.writer());
    std::string error;
    EXPECT_TRUE(receiver_->start(error)) << error;
  }
  // Each channel from here has its own connection (no shared subchannel),
  // so the connection cap can be tested.
  std::shared_ptr<grpc::Channel> channel(const std::string& host = "127.0.0.1") const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(host + ":" + std::to_string(receiver_->port()),
                                     grpc::InsecureChannelCredentials(), args);
  }
  GrpcReceiver& receiver() { return *receiver_; }
  Captured& records() { return captured_; }

 private:
  Captured captured_;
  std::unique_ptr<GrpcReceiver> receiver_;
};

v3::SegmentObject segment(const std::string& id, int spans = 2) {
  v3::SegmentObject s;
  s.set_traceid("T");
  s.set_tracesegmentid(id);
  s.set_service("svc");
  for (int i = 0; i < spans; ++i) {
    v3::SpanObject* span = s.add_spans();
    span->set_spanid(i);
    span->set_parentspanid(i - 1);
    span->set_starttime(1000 + i);
    span->set_endtime(1100);
    span->set_spantype(i == 0 ? v3::Entry : v3::Exit);
    span->set_operationname("/op" + std::to_string(i));
  }
  return s;
}

void withDeadline(grpc::ClientContext& context, const std::string& token = "") {
  context.set_deadline(std::chrono::system_clock::now() + kCallLimit);
  if (!token.empty()) context.AddMetadata("authentication", token);
}

grpc::Status collect(const std::shared_ptr<grpc::Channel>& channel, const std::vector<v3::SegmentObject>& segments,
                     const std::string& token = "") {
  auto stub = v3::TraceSegmentReportService::NewStub(channel);
  grpc::ClientContext context;
  withDeadline(context, token);
  v3::Commands reply;
  auto writer = stub->collect(&context, &reply);
  for (const auto& s : segments) {
    if (!writer->Write(s)) break;  // the server ended the call; Finish says why
  }
  writer->WritesDone();
  return writer->Finish();
}

// A call with the bytes given as its messages, whatever they are, kept
// open until finish(): for bad protobuf, other services, and streams that
// must stay open while something else is tried.
class RawCall {
 public:
  RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method, const std::string& token = "")
      : stub_(channel) {
    withDeadline(context_, token);
    call_ = stub_.PrepareCall(&context_, method, &queue_);
    call_->StartCall(tag());
    started_ = next();
  }
  ~RawCall() {
    if (!finished_) finish();
    queue_.Shutdown();
    void* ignored_tag;
    bool ignored_ok;
    while (queue_.Next(&ignored_tag, &ignored_ok)) {
    }
  }
  bool write(const std::string& bytes) {
    if (!started_) return false;
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    call_->Write(buffer, tag());
    return next();
  }
  // Half-closes when asked (a client at the end of its stream), else only
  // waits for the server to end the call; then its status.
  grpc::Status finish(bool half_close = true) {
    finished_ = true;
    if (started_ && half_close) {
      call_->WritesDone(tag());
      next();
    }
    grpc::ByteBuffer reply;
    call_->Read(&reply, tag());
    next();
    grpc::Status status;
    call_->Finish(&status, tag());
    next();
    return status;
  }

 private:
  void* tag() { return reinterpret_cast<void*>(++tags_); }
  // One operation at a time: the next event is the one just started.
  bool next() {
    void* got = nullptr;
    bool ok = false;
    return queue_.Next(&got, &ok) && ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  uintptr_t tags_ = 0;
  bool started_ = false, finished_ = false;
};

constexpr const char* kCollect = "/skywalking.v3.TraceSegmentReportService/collect";
constexpr const char* kCollectInSync = "/skywalking.v3.TraceSegmentReportService/collectInSync";

std::string bytesOf(const google::protobuf::Message& m) { return m.SerializeAsString(); }

grpc::Status rawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::vector<std::string>& messages, const std::string& token = "") {
  RawCall call(channel, method, token);
  for (const auto& m : messages) {
    if (!call.write(m)) break;
  }
  return call.finish();
}

TEST(GrpcReceiver, CollectStreamWritesEverySpanOfEverySegment) {
  GrpcServer server;
  const grpc::Status status = collect(server.channel(), {segment("A"), segment("B", 3), segment("C", 1)});
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(spanIds(server.records().take()),
            (std::set<std::string>{"A-0", "A-1", "B-0", "B-1", "B-2", "C-0"}));
  const auto stats = server.receiver().stats();
  EXPECT_EQ(stats.segments, 3u);
  EXPECT_EQ(stats.spans, 6u);
  EXPECT_EQ(stats.calls, 1u);
}

TEST(GrpcReceiver, CompatPathWithoutPackageIsServedToo) {
  GrpcServer server;
  const grpc::Status status =
      rawCall(server.channel(), "/TraceSegmentReportService/collect", {bytesOf(segment("old"))});
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(server.records().size(), 2u);
}

TEST(GrpcReceiver, ManagementCallsAreAnsweredWithoutRecords) {
  GrpcServer server;
  auto stub = v3::ManagementService::NewStub(server.channel());
  v3::Commands reply;
  {
    grpc::ClientContext context;
    withDeadline(context);
    v3::InstanceProperties properties;
    properties.set_service("svc");
    properties.set_serviceinstance("inst");
    auto* p = properties.add_properties();
    p->set_key("language");
    p->set_value("nodejs");
    const grpc::Status status = stub->reportInstanceProperties(&context, properties, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(reply.commands_size(), 0);
  }
  {
    grpc::ClientContext context;
    withDeadline(context);
    v3::InstancePingPkg ping;
    ping.set_service("svc");
    const grpc::Status status = stub->keepAlive(&context, ping, &reply);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(server.records().size(), 0u);
  EXPECT_EQ(server.receiver().stats().management, 2u);
}

TEST(GrpcReceiver, OtherServicesAreUnimplementedCountedAndBlockNothing) {
  GrpcServer server;
  const std::vector<std::string> others = {"/skywalking.v3.MeterReportService/collect",
                                           "/skywalking.v3.LogReportService/collect",
                                           "/skywalking.v3.JVMMetricReportService/collect",
                                           "/skywalking.v3.ConfigurationDiscoveryService/fetchConfigurations",
                                           "/skywalking.v3.MeterReportService/collect"};
  // One left open (never half-closed) must not hold anything up.
  RawCall open(server.channel(), others[0]);
  open.write("\x0a\x01x");
  for (const auto& method : others) {
    SCOPED_TRACE(method);
    EXPECT_EQ(rawCall(server.channel(), method, {"\x0a\x01x"}).error_code(), StatusCode::UNIMPLEMENTED);
  }
  EXPECT_EQ(open.finish(false).error_code(), StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(collect(server.channel(), {segment("after")}).ok());
  const auto stats = server.receiver().stats();
  EXPECT_EQ(stats.unimplemented, 6u);
  EXPECT_EQ(stats.unimplemented_methods.at("/skywalking.v3.MeterReportService/collect"), 3u);
  EXPECT_EQ(stats.unimplemented_methods.at("/skywalking.v3.LogReportService/collect"), 1u);
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"after-0", "after-1"}));
}

TEST(GrpcReceiver, BadProtobufInAStreamIsInvalidArgumentAndItsNeighboursStillMap) {
  GrpcServer server;
  // Field 1 announces 5 bytes and has 2: no SegmentObject parses from it.
  const std::string truncated = std::string("\x0a\x05", 2) + "ab";
  const grpc::Status status =
      rawCall(server.channel(), kCollect, {bytesOf(segment("before")), truncated, bytesOf(segment("after"))});
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("message 2: not a SegmentObject"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"before-0", "before-1", "after-0", "after-1"}));
  EXPECT_EQ(server.receiver().stats().bad_protobuf, 1u);
}

TEST(GrpcReceiver, BadSegmentInACollectionIsInvalidArgumentAndTheOthersStillMap) {
  GrpcServer server;
  // A collection by hand: good, an entry whose bytes are no SegmentObject
  // (a varint that never ends), good.
  std::string collection;
  for (const std::string& entry :
       {bytesOf(segment("one")), std::string("\x08\xff\xff\xff", 4), bytesOf(segment("three"))}) {
    collection += '\x0a';
    collection += static_cast<char>(entry.size());  // all under 128 bytes
    collection += entry;
  }
  ASSERT_LT(bytesOf(segment("three")).size(), 128u);
  const grpc::Status status = rawCall(server.channel(), kCollectInSync, {collection});
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("segment 2: not a SegmentObject"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"one-0", "one-1", "three-0", "three-1"}));
}

TEST(GrpcReceiver, SegmentThatDoesNotMapIsInvalidArgumentWithTheMappersReason) {
  GrpcServer server;
  v3::SegmentObject no_trace = segment("lost");
  no_trace.clear_traceid();
  const grpc::Status status = collect(server.channel(), {segment("ok"), no_trace});
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("segment 2 (id lost): traceId"), std::string::npos) << status.error_message();
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"ok-0", "ok-1"}));
}

TEST(GrpcReceiver, WrongOrMissingTokenIsUnauthenticatedAndWritesNothing) {
  GrpcReceiverOptions options;
  options.auth_token = "s3cret";
  GrpcServer server(options);
  EXPECT_EQ(collect(server.channel(), {segment("none")}).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(collect(server.channel(), {segment("wrong")}, "guess").error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(rawCall(server.channel(), "/skywalking.v3.ManagementService/keepAlive", {""}).error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(collect(server.channel(), {segment("right")}, "s3cret").ok());
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"right-0", "right-1"}));
  EXPECT_EQ(server.receiver().stats().unauthenticated, 3u);
}

TEST(GrpcReceiver, MessageOverTheLimitIsResourceExhaustedAndEarlierSegmentsStay) {
  GrpcReceiverOptions options;
  options.message_limit = 64 << 10;
  GrpcServer server(options);
  v3::SegmentObject big = segment("big");
  auto* tag = big.mutable_spans(0)->add_tags();
  tag->set_key("db.statement");
  tag->set_value(std::string(100 << 10, 'x'));
  const grpc::Status status = collect(server.channel(), {segment("small"), big});
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"small-0", "small-1"}));
  // The receiver goes on serving.
  EXPECT_TRUE(collect(server.channel(), {segment("next")}).ok());
}

TEST(GrpcReceiver, QuietStreamEndsWithDeadlineExceededAfterTheIdleTimeout) {
  GrpcReceiverOptions options;
  options.idle_timeout = 200ms;
  GrpcServer server(options);
  RawCall stream(server.channel(), kCollect);
  ASSERT_TRUE(stream.write(bytesOf(segment("first"))));
  // Not half-closed: only the server's idle deadline can end this call
  // before the test's own 10 s bound, and its message says which it was.
  const grpc::Status status = stream.finish(false);
  EXPECT_EQ(status.error_code(), StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(status.error_message().find("idle timeout"), std::string::npos) << status.error_message();
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"first-0", "first-1"}));
  EXPECT_EQ(server.receiver().stats().idle_timeouts, 1u);
}

// Streams `a` and `b` held open (a segment written on each), then a call
// on a new connection: what the receiver answers it.
grpc::Status thirdBesideTwoOpen(GrpcServer& server, RawCall& a, RawCall& b) {
  EXPECT_TRUE(a.write(bytesOf(segment("a"))));
  EXPECT_TRUE(b.write(bytesOf(segment("b"))));
  EXPECT_TRUE(eventually([&] { return server.receiver().activeCalls() == 2; }));
  return collect(server.channel(), {segment("c")});
}

TEST(GrpcReceiver, CallsOverTheStreamCapAreResourceExhausted) {
  GrpcReceiverOptions options;
  options.max_streams = 2;
  GrpcServer server(options);
  RawCall a(server.channel(), kCollect), b(server.channel(), kCollect);
  const grpc::Status refused = thirdBesideTwoOpen(server, a, b);
  EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("too many calls"), std::string::npos) << refused.error_message();
  EXPECT_TRUE(a.finish().ok());
  EXPECT_TRUE(b.finish().ok());
  ASSERT_TRUE(eventually([&] { return server.receiver().activeCalls() == 0; }));
  EXPECT_TRUE(collect(server.channel(), {segment("d")}).ok());
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"a-0", "a-1", "b-0", "b-1", "d-0", "d-1"}));
}

TEST(GrpcReceiver, ConnectionsOverTheCapAreResourceExhausted) {
  GrpcReceiverOptions options;
  options.max_connections = 1;
  GrpcServer server(options);
  const auto first = server.channel();
  RawCall open(first, kCollect);
  ASSERT_TRUE(open.write(bytesOf(segment("a"))));
  ASSERT_TRUE(eventually([&] { return server.receiver().activeCalls() == 1; }));
  const grpc::Status refused = collect(server.channel(), {segment("other")});
  EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("too many connections"), std::string::npos) << refused.error_message();
  // More calls on the connection already served are fine.
  EXPECT_TRUE(collect(first, {segment("same")}).ok());
  EXPECT_TRUE(open.finish().ok());
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"a-0", "a-1", "same-0", "same-1"}));
}

// One client address takes at most its share of the connection slots; a
// client from another address (here IPv6 loopback beside IPv4 loopback, the
// two addresses one host can be told apart by) is still served.
TEST(GrpcReceiver, ConnectionsOverAnAddressShareAreResourceExhaustedOthersAreServed) {
  GrpcReceiverOptions options;
  options.host = "::";  // both families
  options.max_connections_per_address = 2;
  GrpcServer server(options);
  RawCall a(server.channel(), kCollect), b(server.channel(), kCollect);
  const grpc::Status refused = thirdBesideTwoOpen(server, a, b);
  EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("per address"), std::string::npos) << refused.error_message();
  EXPECT_TRUE(collect(server.channel("[::1]"), {segment("v6")}).ok());
  EXPECT_TRUE(a.finish().ok());
  ASSERT_TRUE(eventually([&] { return server.receiver().activeCalls() == 1; }));
  EXPECT_TRUE(collect(server.channel(), {segment("d")}).ok());  // a slot came back
  EXPECT_TRUE(b.finish().ok());
  EXPECT_EQ(spanIds(server.records().take()),
            (std::set<std::string>{"a-0", "a-1", "b-0", "b-1", "v6-0", "v6-1", "d-0", "d-1"}));
}

TEST(GrpcReceiver, ShutdownLetsAnOpenStreamFinishAndLosesNothing) {
  GrpcServer server;
  RawCall stream(server.channel(), kCollect);
  ASSERT_TRUE(stream.write(bytesOf(segment("early"))));
  ASSERT_TRUE(eventually([&] { return server.receiver().activeCalls() == 1; }));
  std::thread stopping([&] { server.receiver().shutdown(); });
  // The listener closes as the drain starts: only then send the rest.
  ASSERT_TRUE(eventually([&] { return connectionRefused(server.receiver().port()); }));
  EXPECT_TRUE(stream.write(bytesOf(segment("late"))));
  const grpc::Status status = stream.finish();
  stopping.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(spanIds(server.records().take()), (std::set<std::string>{"early-0", "early-1", "late-0", "late-1"}));
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// HTTP and gRPC side by side in one process, each with its own capture.
class BothTransports {
 public:
  BothTransports() {
    ReceiverOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    http_ = std::make_unique<Receiver>(options, http_records_.writer());
    std::string error;
    EXPECT_TRUE(http_->listen(error)) << error;
    thread_ = std::thread([this] { http_->run(); });
  }
  ~BothTransports() {
    http_->stop();
    thread_.join();
  }
  std::vector<std::string> overHttp(std::string_view path, const std::string& body) {
    EXPECT_EQ(roundTrip(http_->port(), request("POST", path, body)), 200) << path;
    return http_records_.take();
  }
  GrpcServer& grpc() { return grpc_; }

 private:
  Captured http_records_;
  std::unique_ptr<Receiver> http_;
  std::thread thread_;
  GrpcServer grpc_;
};

TEST(GrpcAndHttp, EveryCorpusSegmentGivesByteIdenticalRecordsEitherWay) {
  BothTransports both;
  size_t compared = 0;
  // bad-input.json is made not to map; nginx-lua.json has a JSON number as a
  // tag value, which the HTTP API's ProtoJSON leniency takes and protobuf's
  // own JSON reader (used here to make the protobuf) does not.
  for (const char* name : {"java-http", "node-mq", "python-segments"}) {
    SCOPED_TRACE(name);
    const std::string text = readFile(std::string(L7_SOURCE_DIR) + "/corpus/skywalking/" + name + ".json");
    const boost::json::value root = boost::json::parse(text);
    boost::json::array segments = root.is_array() ? root.as_array() : boost::json::array{root};
    google::protobuf::util::JsonParseOptions lenient;
    lenient.ignore_unknown_fields = true;  // e.g. componentId's neighbours the receiver does not declare
    v3::SegmentCollection collection;
    for (const auto& s : segments) {
      const std::string one = boost::json::serialize(s);
      v3::SegmentObject object;
      const auto parsed = google::protobuf::util::JsonStringToMessage(one, &object, lenient);
      ASSERT_TRUE(parsed.ok()) << parsed.ToString();
      *collection.add_segments() = object;
      // One segment: POST /v3/segment against a collect stream.
      const auto by_http = both.overHttp("/v3/segment", one);
      ASSERT_TRUE(collect(both.grpc().channel(), {object}).ok());
      const auto by_grpc = both.grpc().records().take();
      ASSERT_FALSE(by_http.empty());
      EXPECT_EQ(by_http, by_grpc);
      ++compared;
    }
    // The whole file: POST /v3/segments against collectInSync, order included.
    const auto by_http = both.overHttp("/v3/segments", boost::json::serialize(segments));
    auto stub = v3::TraceSegmentReportService::NewStub(both.grpc().channel());
    grpc::ClientContext context;
    withDeadline(context);
    v3::Commands reply;
    ASSERT_TRUE(stub->collectInSync(&context, collection, &reply).ok());
    EXPECT_EQ(by_http, both.grpc().records().take());
  }
  EXPECT_EQ(compared, 5u);
}

#ifdef L7_CURL
TEST(ServeBinary, GrpcAndHttpShareOneOutputAndSigtermLosesNothing) {
  ServeProcess serve;
  ASSERT_NE(serve.port(), 0) << "serve did not start";
  ASSERT_NE(serve.grpcPort(), 0) << "serve did not start its gRPC listener";
  const auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(serve.grpcPort()),
                                           grpc::InsecureChannelCredentials());
  EXPECT_EQ(post(serve.url("/v3/segment"), serve.dir().file("h.json", segmentJson("http")), ""), 200);
  EXPECT_TRUE(collect(channel, {segment("grpc")}).ok());
  RawCall stream(channel, kCollect);
  ASSERT_TRUE(stream.write(bytesOf(segment("open"))));
  // Records are flushed as each message arrives, before the stream ends.
  ASSERT_TRUE(eventually([&] { return serve.records().size() == 6; }));
  ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);
  ASSERT_TRUE(eventually([&] { return connectionRefused(serve.grpcPort()); }));
  EXPECT_TRUE(stream.write(bytesOf(segment("drained"))));
  EXPECT_TRUE(stream.finish().ok());
  const ProcessResult r = serve.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(spanIds(serve.records()), (std::set<std::string>{"http-0", "http-1", "grpc-0", "grpc-1", "open-0", "open-1",
                                                             "drained-0", "drained-1"}));
  EXPECT_EQ(serve.records().size(), 8u);
  EXPECT_NE(r.err.find("gRPC 2 calls, 3 segments, 6 spans"), std::string::npos) << r.err;
}
#endif

TEST(ServeBinary, EitherListenerCanBeTurnedOffNotBoth) {
  {
    ServeProcess grpc_only({"--no-http"});
    EXPECT_EQ(grpc_only.port(), 0);
    ASSERT_NE(grpc_only.grpcPort(), 0);
    ::kill(grpc_only.pid(), SIGTERM);
    EXPECT_EQ(grpc_only.wait().exit_code, 0);
  }
  {
    ServeProcess http_only({"--no-grpc"});
    EXPECT_NE(http_only.port(), 0);
    EXPECT_EQ(http_only.grpcPort(), 0);
    ::kill(http_only.pid(), SIGTERM);
    EXPECT_EQ(http_only.wait().exit_code, 0);
  }
  const ProcessResult r = runProcess({L7CONFORM_BIN, "serve", "--no-http", "--no-grpc", "-o", "/dev/null"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nothing to serve"), std::string::npos) << r.err;
  const ProcessResult bad = runProcess({L7CONFORM_BIN, "serve", "--grpc", "localhost:11800", "-o", "/dev/null"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--grpc"), std::string::npos) << bad.err;
}

TEST(ServeBinary, HelpTeachesTheGrpcListener) {
  const ProcessResult r = runProcess({L7CONFORM_BIN, "serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  const std::string help = r.out + r.err;
  for (const char* needle : {"--grpc", "11800", "--no-http", "--no-grpc", "collectInSync", "UNIMPLEMENTED",
                             "INVALID_ARGUMENT", "--max-streams", "SW_AGENT_COLLECTOR_BACKEND_SERVICES"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace l7h::skywalking
