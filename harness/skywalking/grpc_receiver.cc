#include "skywalking/grpc_receiver.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <atomic>
#include <boost/json/value.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "common.pb.h"
#include "skywalking/segment_mapper.h"
#include "tracing.pb.h"

namespace l7h::skywalking {

namespace json = boost::json;
namespace v3 = ::skywalking::v3;
using grpc::Status;
using grpc::StatusCode;

namespace {

enum class Method { kCollect, kCollectInSync, kManagement, kUnknown };

Method methodOf(std::string_view path) {
  // The package-less paths are those of SkyWalking's deprecated compat
  // proto, which the OAP still serves.
  if (path == "/skywalking.v3.TraceSegmentReportService/collect" || path == "/TraceSegmentReportService/collect") {
    return Method::kCollect;
  }
  if (path == "/skywalking.v3.TraceSegmentReportService/collectInSync" ||
      path == "/TraceSegmentReportService/collectInSync") {
    return Method::kCollectInSync;
  }
  if (path == "/skywalking.v3.ManagementService/reportInstanceProperties" ||
      path == "/skywalking.v3.ManagementService/keepAlive") {
    return Method::kManagement;
  }
  return Method::kUnknown;
}

// A SegmentObject in the JSON shape the HTTP API takes, so the one mapper
// reads both (enums as their numbers, int64 as numbers: both are what the
// JSON reader accepts, and proto3 keeps unknown enum numbers such as layer 7).
json::value toJson(const v3::SegmentObject& segment) {
  json::object o;
  o["traceId"] = segment.traceid();
  o["traceSegmentId"] = segment.tracesegmentid();
  o["service"] = segment.service();
  o["serviceInstance"] = segment.serviceinstance();
  json::array spans;
  spans.reserve(static_cast<size_t>(segment.spans_size()));
  for (const v3::SpanObject& span : segment.spans()) {
    json::object s;
    s["spanId"] = span.spanid();
    s["parentSpanId"] = span.parentspanid();
    s["startTime"] = span.starttime();
    s["endTime"] = span.endtime();
    s["operationName"] = span.operationname();
    s["spanType"] = static_cast<int>(span.spantype());
    s["spanLayer"] = static_cast<int>(span.spanlayer());
    s["isError"] = span.iserror();
    if (span.tags_size() > 0) {
      json::array tags;
      tags.reserve(static_cast<size_t>(span.tags_size()));
      for (const v3::KeyStringValuePair& tag : span.tags()) tags.push_back(json::object{{"key", tag.key()}, {"value", tag.value()}});
      s["tags"] = std::move(tags);
    }
    if (span.refs_size() > 0) {
      json::array refs;
      for (const v3::SegmentReference& ref : span.refs()) {
        refs.push_back(json::object{{"refType", static_cast<int>(ref.reftype())},
                                    {"parentTraceSegmentId", ref.parenttracesegmentid()},
                                    {"parentSpanId", ref.parentspanid()}});
      }
      s["refs"] = std::move(refs);
    }
    spans.push_back(std::move(s));
  }
  o["spans"] = std::move(spans);
  return o;
}

// A message's bytes as one SegmentObject; false when they are not one.
bool parseSegment(grpc::ByteBuffer& buffer, v3::SegmentObject& segment) {
  grpc::ProtoBufferReader reader(&buffer);
  return reader.status().ok() && segment.ParseFromZeroCopyStream(&reader);
}

// A SegmentCollection read one segment at a time, so a bad segment costs
// only itself: `good` receives what parses, `bad` the numbers (1-based) of
// what does not. False when the collection's own framing is broken (what
// came before the break is kept).
bool parseCollection(grpc::ByteBuffer& buffer, json::array& good, std::vector<size_t>& bad) {
  using google::protobuf::internal::WireFormatLite;
  grpc::ProtoBufferReader reader(&buffer);
  if (!reader.status().ok()) return false;
  google::protobuf::io::CodedInputStream in(&reader);
  size_t number = 0;
  std::string bytes;
  v3::SegmentObject segment;
  while (const uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) != 1 ||
        WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;  // an unknown field, skipped as protobuf does
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length) || !in.ReadString(&bytes, static_cast<int>(length))) return false;
    ++number;
    if (segment.ParseFromString(bytes)) {
      good.push_back(toJson(segment));
    } else {
      bad.push_back(number);
    }
  }
  return in.ConsumedEntireMessage();
}

grpc::ByteBuffer emptyCommands() {
  // An empty Commands is zero bytes on the wire: what the OAP answers.
  grpc::Slice nothing;
  return grpc::ByteBuffer(&nothing, 1);
}

// Room for the reasons in a status message; the rest is counted.
constexpr size_t kDetailsLimit = 2048;

void addDetail(std::string& details, size_t& omitted, const std::string& what) {
  if (details.size() + what.size() + 2 > kDetailsLimit) {
    ++omitted;
    return;
  }
  if (!details.empty()) details += "; ";
  details += what;
}

}  // namespace

struct GrpcReceiver::Impl : grpc::CallbackGenericService {
  GrpcReceiverOptions options;
  Receiver::RecordBatchWriter write;
  std::unique_ptr<grpc::Server> server;
  int bound_port = 0;

  mutable std::mutex stats_mutex;
  GrpcReceiverStats stats;

  // Calls in flight, for the caps and the idle watchdog. A reactor is
  // deleted only once it is out of `calls` and no watchdog pass holds it.
  class Call;
  mutable std::mutex calls_mutex;
  std::set<Call*> calls;
  std::unordered_map<std::string, size_t> peers;      // peer (address and port) → calls in flight
  std::unordered_map<std::string, size_t> addresses;  // client address → its peers in `peers`
  std::condition_variable watchdog_wake;
  bool watchdog_stop = false;
  std::thread watchdog;
  std::once_flag shutdown_once;

  template <typename F>
  void count(F&& change) {
    std::lock_guard lock(stats_mutex);
    change(stats);
  }

  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    Call(Impl& owner, grpc::GenericCallbackServerContext* context)
        : owner_(owner), context_(context), method_(methodOf(context->method())) {
      touch();
      owner_.count([](GrpcReceiverStats& s) { ++s.calls; });
      if (!owner_.options.auth_token.empty() && !authenticated()) {
        owner_.count([](GrpcReceiverStats& s) { ++s.unauthenticated; });
        finish(Status(StatusCode::UNAUTHENTICATED, "missing or wrong Authentication token"));
        return;
      }
      if (method_ == Method::kUnknown) {
        owner_.count([&](GrpcReceiverStats& s) {
          ++s.unimplemented;
          ++s.unimplemented_methods[context->method()];
        });
        finish(Status(StatusCode::UNIMPLEMENTED, "l7conform serves TraceSegmentReportService and ManagementService only"));
        return;
      }
      if (const std::string refused = owner_.admit(this, context_->peer()); !refused.empty()) {
        owner_.count([](GrpcReceiverStats& s) { ++s.over_limit; });
        finish(Status(StatusCode::RESOURCE_EXHAUSTED, refused));
        return;
      }
      admitted_ = true;
      StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
      if (!ok) {
        // The client half-closed (the end of its stream) or the call broke
        // (cancelled, over the size limit, shut down): either way nothing
        // more will come, and everything that came has been written.
        return complete();
      }
      touch();
      ++messages_;
      handle();
      request_.Clear();
      std::lock_guard lock(mutex_);
      if (!finished_) StartRead(&request_);
    }

    void OnWriteDone(bool) override {}

    void OnDone() override { owner_.release(this, admitted_); }

    // The watchdog's verdict for a stream that went quiet.
    void expire() {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      finished_ = true;
      // Counted before the client can see the status.
      owner_.count([](GrpcReceiverStats& s) { ++s.idle_timeouts; });
      Finish(Status(StatusCode::DEADLINE_EXCEEDED, "no message within the idle timeout"));
    }

    std::chrono::steady_clock::time_point lastActivity() const {
      return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_activity_.load()));
    }

    const std::string& peer() const { return peer_; }
    void setPeer(std::string p) { peer_ = std::move(p); }

    // Touched by the watchdog only, under calls_mutex.
    int holds = 0;
    bool done = false;

   private:
    bool authenticated() const {
      const auto& metadata = context_->client_metadata();
      const auto it = metadata.find("authentication");  // gRPC keys are lower case
      return it != metadata.end() && std::string_view(it->second.data(), it->second.size()) == owner_.options.auth_token;
    }

    void touch() { last_activity_ = std::chrono::steady_clock::now().time_since_epoch().count(); }

    void handle() {
      switch (method_) {
        case Method::kCollect: {
          v3::SegmentObject segment;
          if (!parseSegment(request_, segment)) {
            owner_.count([](GrpcReceiverStats& s) { ++s.bad_protobuf; });
            addDetail(details_, omitted_, "message " + std::to_string(messages_) + ": not a SegmentObject");
            return;
          }
          owner_.count([](GrpcReceiverStats& s) { ++s.segments; });
          json::array one;
          one.push_back(toJson(segment));
          deliver(mapSegmentValues(one, {}, messages_));
          return;
        }
        case Method::kCollectInSync: {
          json::array segments;
          std::vector<size_t> bad;
          const bool whole = parseCollection(request_, segments, bad);
          for (size_t number : bad) addDetail(details_, omitted_, "segment " + std::to_string(number) + ": not a SegmentObject");
          if (!whole) addDetail(details_, omitted_, "not a SegmentCollection (broken framing after the segments above)");
          owner_.count([&](GrpcReceiverStats& s) {
            s.segments += segments.size();
            s.bad_protobuf += bad.size() + (whole ? 0 : 1);
          });
          deliver(mapSegmentValues(segments));
          return;
        }
        case Method::kManagement:
          owner_.count([](GrpcReceiverStats& s) { ++s.management; });
          return;
        case Method::kUnknown:
          return;
      }
    }

    // What maps is written (and flushed) even when other segments of the
    // call are bad: a read segment is never lost, a bad one is reported.
    void deliver(MapResult mapped) {
      if (!mapped.records.empty() && !owner_.write(mapped.records)) write_failed_ = true;
      for (const MapError& e : mapped.errors) addDetail(details_, omitted_, e.where + ": " + e.reason);
      owner_.count([&](GrpcReceiverStats& s) {
        s.spans += mapped.records.size();
        s.map_errors += mapped.errors.size();
      });
    }

    void complete() {
      if (write_failed_) return finish(Status(StatusCode::INTERNAL, "cannot write records"));
      if (!details_.empty()) {
        if (omitted_ > 0) details_ += "; and " + std::to_string(omitted_) + " more";
        return finish(Status(StatusCode::INVALID_ARGUMENT, details_));
      }
      std::lock_guard lock(mutex_);
      if (finished_) return;
      finished_ = true;
      response_ = emptyCommands();
      StartWriteAndFinish(&response_, grpc::WriteOptions(), Status::OK);
    }

    // Finish once, whoever gets here first (the call's own thread or the
    // watchdog).
    void finish(const Status& status) {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      finished_ = true;
      Finish(status);
    }

    Impl& owner_;
    grpc::GenericCallbackServerContext* context_;
    const Method method_;
    grpc::ByteBuffer request_, response_;
    std::mutex mutex_;
    bool finished_ = false;
    bool admitted_ = false;
    bool write_failed_ = false;
    size_t messages_ = 0;
    std::string details_;
    size_t omitted_ = 0;
    std::string peer_;
    std::atomic<std::chrono::steady_clock::rep> last_activity_{0};
  };

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override {
    return new Call(*this, context);
  }

  // gRPC names a peer "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000": the
  // client's address is all but the port.
  static std::string clientAddress(const std::string& peer) {
    const size_t colon = peer.rfind(':');
    return colon == std::string::npos ? peer : peer.substr(0, colon);
  }

  // Empty when the call may go on, else why not.
  std::string admit(Call* call, std::string peer) {
    std::lock_guard lock(calls_mutex);
    if (calls.size() >= options.max_streams) {
      return "too many calls in flight (" + std::to_string(options.max_streams) + "); retry later";
    }
    const auto it = peers.find(peer);
    if (it == peers.end()) {
      if (peers.size() >= options.max_connections) {
        return "too many connections with calls in flight (" + std::to_string(options.max_connections) +
               "); retry later";
      }
      const std::string address = clientAddress(peer);
      size_t& share = addresses[address];
      if (share >= options.max_connections_per_address) {
        return "too many connections from " + address + " with calls in flight (" +
               std::to_string(options.max_connections_per_address) + " per address); retry later";
      }
      ++share;
    }
    ++peers[peer];
    call->setPeer(std::move(peer));
    calls.insert(call);
    return {};
  }

  void release(Call* call, bool admitted) {
    std::unique_lock lock(calls_mutex);
    if (admitted) {
      calls.erase(call);
      if (auto it = peers.find(call->peer()); it != peers.end() && --it->second == 0) {
        peers.erase(it);
        if (auto a = addresses.find(clientAddress(call->peer())); a != addresses.end() && --a->second == 0) {
          addresses.erase(a);
        }
      }
    }
    call->done = true;
    if (call->holds > 0) return;  // the watchdog deletes it when it lets go
    lock.unlock();
    delete call;
  }

  // Ends streams that went quiet. Wakes a few times per idle timeout, so a
  // stream lives at most ~1.25 idle timeouts without a message.
  void watch() {
    const auto period = std::clamp<std::chrono::milliseconds>(options.idle_timeout / 4, std::chrono::milliseconds(10),
                                                              std::chrono::milliseconds(1000));
    std::unique_lock lock(calls_mutex);
    while (!watchdog_stop) {
      watchdog_wake.wait_for(lock, period);
      if (watchdog_stop) break;
      const auto now = std::chrono::steady_clock::now();
      std::vector<Call*> quiet;
      for (Call* call : calls) {
        if (now - call->lastActivity() >= options.idle_timeout) {
          ++call->holds;
          quiet.push_back(call);
        }
      }
      if (quiet.empty()) continue;
      // Finish outside the lock: gRPC may run OnDone (which takes it) inline.
      lock.unlock();
      for (Call* call : quiet) call->expire();
      lock.lock();
      for (Call* call : quiet) {
        if (--call->holds == 0 && call->done) delete call;
      }
    }
  }
};

GrpcReceiver::GrpcReceiver(GrpcReceiverOptions options, Receiver::RecordBatchWriter write)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->write = std::move(write);
}

GrpcReceiver::~GrpcReceiver() { shutdown(); }

bool GrpcReceiver::start(std::string& error) {
  // Protobuf logs every malformed string it meets to stderr; a hostile
  // client must not be able to fill the log. Bad input is reported in
  // statuses and counted instead.
  google::protobuf::SetLogHandler(nullptr);
  const auto& o = impl_->options;
  const bool v6 = o.host.find(':') != std::string::npos;
  const std::string address = (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &impl_->bound_port);
  builder.RegisterCallbackGenericService(impl_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(o.message_limit, INT32_MAX)));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, static_cast<int>(std::min<size_t>(o.max_streams, INT32_MAX)));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(std::min<int64_t>(o.idle_timeout.count(), INT32_MAX)));
  // One port, exactly where told: no SO_REUSEPORT sharing with another process.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->bound_port == 0) {
    error = address + ": cannot listen (address in use or not available)";
    impl_->server.reset();
    return false;
  }
  impl_->watchdog = std::thread([this] { impl_->watch(); });
  return true;
}

uint16_t GrpcReceiver::port() const { return static_cast<uint16_t>(impl_->bound_port); }

void GrpcReceiver::shutdown() {
  if (!impl_->server) return;
  std::call_once(impl_->shutdown_once, [this] {
    impl_->server->Shutdown(std::chrono::system_clock::now() + impl_->options.drain_timeout);
    {
      std::lock_guard lock(impl_->calls_mutex);
      impl_->watchdog_stop = true;
    }
    impl_->watchdog_wake.notify_all();
    if (impl_->watchdog.joinable()) impl_->watchdog.join();
  });
}

size_t GrpcReceiver::activeCalls() const {
  std::lock_guard lock(impl_->calls_mutex);
  return impl_->calls.size();
}

GrpcReceiverStats GrpcReceiver::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

}  // namespace l7h::skywalking
