// Kafka conversations from the protocol guide's message layouts
// (kafka_messages.h) and the Kafka mapping table; expectations follow
// golden/mapping/kafka.tsv and the documented choices in
// parsers/kafka/README.md.
//
// A model version names one API and version, "Produce v7": that API is
// used at that version (and drawn often), every other API at min(7, its
// highest released version), like a client whose versions were negotiated
// up to that level. So "Produce v13" exercises flexible versions and topic
// ids everywhere, "Fetch v3" legacy message sets. Requests are pipelined
// (up to three in flight) and answered in any order, as the protocol allows
// pairing by correlation_id.
#include "synth/kafka_synth.h"

#include <algorithm>
#include <string>

#include "synth/kafka_messages.h"
#include "synth/trace_headers.h"

namespace l7h::synth {
namespace {

namespace kw = kafkawire;

// The error codes the generator answers with and Kafka's description of
// each (org.apache.kafka.common.protocol.Errors, printed in the protocol
// guide's error table).
struct KafkaError {
  int16_t code;
  const char* description;
};
constexpr KafkaError kNone{0, ""};
constexpr KafkaError kProduceErrors[] = {
    {3, "This server does not host this topic-partition."},
    {10, "The request included a message larger than the max message size the server will accept."},
    {19, "Messages are rejected since there are fewer in-sync replicas than required."},
};
constexpr KafkaError kFetchErrors[] = {
    {1, "The requested offset is not within the range of offsets maintained by the server."},
    {3, "This server does not host this topic-partition."},
};
constexpr KafkaError kFetchSessionError{70, "The fetch session ID was not found."};
constexpr KafkaError kGroupErrors[] = {
    {15, "The coordinator is not available."},
    {16, "This is not the correct coordinator."},
    {22, "Specified group generation id is not valid."},
    {25, "The coordinator is not aware of this member."},
    {27, "The group is rebalancing, so a rejoin is needed."},
};
constexpr KafkaError kUnsupportedVersion{35, "The version of API is not supported."};
constexpr KafkaError kMetadataErrors[] = {
    {3, "This server does not host this topic-partition."},
    {29, "Topic authorization failed."},
};

constexpr const char* kTopics[] = {"orders", "payments.eu", "t", "audit-log_v2"};
constexpr const char* kGroups[] = {"billing", "cg-1", "analytics.consumers"};
constexpr const char* kClientIds[] = {"rdkafka", "producer-1", "consumer-7"};

// Topic ids are written by kafkawire as 16 consecutive bytes from a first
// byte (0x10 in Produce, 0xa0 in Fetch); the record shows them as UUIDs.
constexpr const char* kProduceTopicId = "10111213-1415-1617-1819-1a1b1c1d1e1f";
constexpr const char* kFetchTopicId = "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf";

template <size_t N>
const KafkaError& maybeError(Rng& rng, const KafkaError (&errors)[N]) {
  return rng.below(4) == 0 ? errors[rng.below(N)] : kNone;
}

std::string text(Rng& rng, size_t max_len) {
  std::string s;
  const size_t n = rng.below(max_len + 1);
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(rng.below(256)));
  return s;
}

// The record batch of a Produce request or Fetch response: the first
// record's headers carry the trace (or not); a second record's never count.
struct Records {
  std::string bytes;
  SynthTrace trace;
};

Records recordBatch(Rng& rng) {
  Records out;
  out.trace = randomTrace(rng, /*any_order=*/true);
  std::vector<kw::Header> headers;
  if (rng.below(3) == 0) headers.emplace_back("content-type", "application/json");
  for (const auto& [name, value] : out.trace.headers) headers.emplace_back(name, value);
  if (rng.below(4) == 0) headers.emplace_back("retry", std::nullopt);  // null header value
  const std::optional<std::string> key = rng.below(3) == 0 ? std::nullopt : std::optional(text(rng, 12));
  const std::optional<std::string> value = rng.below(4) == 0 ? std::nullopt : std::optional(text(rng, 200));
  std::vector<std::string> records = {kw::record(key, value, headers)};
  if (rng.below(3) == 0) {
    records.push_back(kw::record("k2", "v2", {{"traceparent", "00-" + randomHex(rng, 32) + "-" + randomHex(rng, 16) + "-01"}}, 1));
  }
  const int codec = static_cast<int>(rng.below(5));  // none, gzip, snappy, lz4, zstd
  out.bytes = kw::batch(records, codec, /*xerial=*/codec == 2 && rng.below(2) == 0);
  return out;
}

void setTrace(l7::L7Fields& f, const SynthTrace& t) {
  f.trace_id = t.trace_id;
  f.trace_id_2 = t.trace_id_2;
  f.span_id = t.span_id;
}

void setError(l7::L7Fields& f, const KafkaError& e, bool with_code) {
  if (with_code) f.response_code = e.code;
  f.response_status = e.code == 0 ? l7::ResponseStatus::kOk : l7::ResponseStatus::kServerError;
  f.response_exception = e.description;
}

class KafkaConversation {
 public:
  KafkaConversation(Rng& rng, std::string focus, int version, ModelConversation& conv)
      : rng_(rng), focus_(std::move(focus)), version_(version), conv_(conv), correlation_id_(static_cast<int32_t>(rng.below(100000))),
        client_id_(kClientIds[rng.below(std::size(kClientIds))]) {}

  void generate(size_t messages) {
    handshake();
    while (conv_.messages.size() < messages) pipeline();
  }

 private:
  // A request waiting in the pipeline for its response.
  struct Pending {
    size_t request_index;
    std::string response;
    l7::L7Fields fields;
  };

  // ApiVersions first, as every client does; a newer client against an
  // older broker gets UNSUPPORTED_VERSION (v0 body) and retries with v0.
  void handshake() {
    const int16_t v = api(4);
    if (v >= 3 && rng_.below(4) == 0) {
      exchange([&](int32_t corr, l7::L7Fields& q, l7::L7Fields& a) {
        request(q, "ApiVersions", v);
        setError(a, kUnsupportedVersion, false);
        return std::pair{kw::apiVersionsRequest(v, corr), kw::apiVersionsResponse(v, corr, kUnsupportedVersion.code)};
      });
      exchange([&](int32_t corr, l7::L7Fields& q, l7::L7Fields& a) {
        request(q, "ApiVersions", 0);
        setError(a, kNone, false);
        return std::pair{kw::apiVersionsRequest(0, corr), kw::apiVersionsResponse(0, corr, 0)};
      });
      return;
    }
    exchange([&](int32_t corr, l7::L7Fields& q, l7::L7Fields& a) {
      request(q, "ApiVersions", v);
      setError(a, kNone, false);
      return std::pair{kw::apiVersionsRequest(v, corr), kw::apiVersionsResponse(v, corr, 0)};
    });
  }

  // Up to three requests, then their responses in a random order.
  void pipeline() {
    std::vector<Pending> pending;
    const size_t depth = 1 + rng_.below(3);
    for (size_t i = 0; i < depth; ++i) {
      Pending p;
      const int32_t corr = correlation_id_++;
      l7::L7Fields q;
      q.request_id = corr;
      q.x_request_id_0 = std::to_string(corr);
      p.fields.request_id = corr;
      p.fields.x_request_id_1 = std::to_string(corr);
      const std::string bytes = randomRequest(corr, q, p);
      q.request_length = static_cast<int64_t>(bytes.size()) - 4;
      p.request_index = add(l7::Direction::kToServer, bytes, l7::MessageKind::kRequest, std::move(q));
      if (!p.response.empty()) pending.push_back(std::move(p));
    }
    for (size_t i = pending.size(); i > 1; --i) std::swap(pending[i - 1], pending[rng_.below(i)]);
    for (Pending& p : pending) {
      p.fields.response_length = static_cast<int64_t>(p.response.size()) - 4;
      const size_t at = add(l7::Direction::kToClient, std::move(p.response), l7::MessageKind::kResponse, std::move(p.fields));
      conv_.messages[at].answers = static_cast<long>(p.request_index);
    }
  }

  // Writes one request into `q` (request columns) and its response into `p`
  // (response columns; no response for acks=0 Produce).
  std::string randomRequest(int32_t corr, l7::L7Fields& q, Pending& p) {
    l7::L7Fields& a = p.fields;
    const std::string topic = kTopics[rng_.below(std::size(kTopics))];
    const int32_t partition = static_cast<int32_t>(rng_.below(12));
    // The model's API half of the time, any API otherwise.
    uint64_t pick = rng_.below(8);
    if (rng_.below(2) == 0) {
      if (focus_ == "Produce") pick = 0;
      if (focus_ == "Fetch") pick = 2;
      if (focus_ == "JoinGroup") pick = 4;
      if (focus_ == "SyncGroup") pick = 5;
      if (focus_ == "LeaveGroup") pick = 6;
    }
    switch (pick) {
      case 0: case 1: {  // Produce; acks=0 gets no response
        const int16_t v = api(13);
        const std::string shown = v >= 13 ? kProduceTopicId : topic;
        request(q, "Produce", v);
        q.request_domain = shown;
        q.endpoint = shown + "-" + std::to_string(partition);
        // Record batches (magic 2, headers) from v3; before that a legacy message set.
        if (v >= 3) {
          const Records records = recordBatch(rng_);
          setTrace(q, records.trace);
          const int16_t acks = rng_.below(6) == 0 ? 0 : -1;
          std::string bytes = kw::produceRequest(v, corr, topic, partition, records.bytes, acks);
          if (acks == 0) return bytes;
          produceResponse(v, corr, topic, partition, shown, p);
          return bytes;
        }
        std::string bytes = kw::produceRequest(v, corr, topic, partition, kw::legacyMessageSet(text(rng_, 40)));
        produceResponse(v, corr, topic, partition, shown, p);
        return bytes;
      }
      case 2: case 3: {  // Fetch
        const int16_t v = api(17);
        const std::string shown = v >= 13 ? kFetchTopicId : topic;
        const int64_t offset = static_cast<int64_t>(rng_.below(1'000'000));
        request(q, "Fetch", v);
        q.request_domain = shown;
        q.endpoint = shown + "-" + std::to_string(partition);
        q.request_resource = q.endpoint + ":" + std::to_string(offset);
        const KafkaError& top = v >= 7 && rng_.below(8) == 0 ? kFetchSessionError : kNone;
        const KafkaError& part = maybeError(rng_, kFetchErrors);
        setError(a, top.code != 0 ? top : part, true);
        // A partition's failure names the partition; the top-level code
        // speaks for the whole fetch.
        if (top.code == 0 && part.code != 0) a.response_exception += " (partition " + q.endpoint + ")";
        std::string records;
        if (v >= 4) {
          if (rng_.below(4) != 0) {
            const Records r = recordBatch(rng_);
            records = r.bytes;
            setTrace(a, r.trace);
          }
        } else {
          records = kw::legacyMessageSet(text(rng_, 40));
        }
        p.response = kw::fetchResponse(v, corr, topic, partition, top.code, part.code, records);
        return kw::fetchRequest(v, corr, topic, partition, offset);
      }
      case 4: return group(corr, q, p, "JoinGroup", api(9));
      case 5: return group(corr, q, p, "SyncGroup", api(5));
      case 6: return group(corr, q, p, "LeaveGroup", api(5));
      default: return headerOnly(corr, q, p);
    }
  }

  void produceResponse(int16_t v, int32_t corr, const std::string& topic, int32_t partition, const std::string& shown,
                       Pending& p) {
    const KafkaError& e = maybeError(rng_, kProduceErrors);
    const int64_t base_offset = e.code == 0 ? static_cast<int64_t>(rng_.below(5'000'000)) : -1;
    setError(p.fields, e, true);
    if (e.code != 0) p.fields.response_exception += " (partition " + shown + "-" + std::to_string(partition) + ")";
    p.fields.request_resource = shown + "-" + std::to_string(partition) + ":" + std::to_string(base_offset);
    p.response = kw::produceResponse(v, corr, topic, {{partition, e.code, base_offset}});
  }

  std::string group(int32_t corr, l7::L7Fields& q, Pending& p, const char* name, int16_t v) {
    const std::string group_id = kGroups[rng_.below(std::size(kGroups))];
    request(q, name, v);
    q.attributes.push_back({"group_id", group_id});
    const KafkaError& e = maybeError(rng_, kGroupErrors);
    setError(p.fields, e, true);
    const std::string_view n = name;
    if (n == "JoinGroup") {
      p.response = kw::joinGroupResponse(v, corr, e.code);
      return kw::joinGroupRequest(v, corr, group_id);
    }
    if (n == "SyncGroup") {
      p.response = kw::syncGroupResponse(v, corr, e.code);
      return kw::syncGroupRequest(v, corr, group_id);
    }
    p.response = kw::leaveGroupResponse(v, corr, e.code);
    return kw::leaveGroupRequest(v, corr, group_id);
  }

  // APIs the table takes no fields from: header columns, and (extension)
  // the status and exception of the answer's error code, never
  // response_code (Metadata: the first topic's; Heartbeat: its only one).
  // What follows the code is not read, so it is random here.
  std::string headerOnly(int32_t corr, l7::L7Fields& q, Pending& p) {
    const bool metadata = rng_.below(2) == 0;
    const int16_t v = metadata ? api(12) : api(4);
    const bool flexible = metadata ? v >= 9 : v >= 4;
    request(q, metadata ? "Metadata" : "Heartbeat", v);
    kw::W body(flexible);
    if (metadata) {
      body.arr(1).str(kTopics[rng_.below(std::size(kTopics))]).tags();
    } else {
      body.str(kGroups[rng_.below(std::size(kGroups))]).i32(1).str("m-1").tags();
    }
    const KafkaError& e = metadata ? maybeError(rng_, kMetadataErrors) : maybeError(rng_, kGroupErrors);
    setError(p.fields, e, /*with_code=*/false);
    kw::W answer(flexible);
    if (metadata) {
      if (v >= 3) answer.i32(0);  // throttle_time_ms
      answer.arr(1).i32(1).str("broker-1").i32(9092);
      if (v >= 1) answer.nullStr();  // rack
      answer.tags();
      if (v >= 2) answer.nullStr();  // cluster_id
      if (v >= 1) answer.i32(1);     // controller_id
      answer.arr(1).i16(e.code).raw(text(rng_, 30));
    } else {
      if (v >= 1) answer.i32(0);
      answer.i16(e.code).raw(text(rng_, 30));
    }
    p.response = kw::response(corr, flexible, answer.str());
    return kw::request(metadata ? kw::kMetadata : kw::kHeartbeat, v, corr, flexible, body.str(), client_id_);
  }

  template <typename Build>
  void exchange(Build build) {
    const int32_t corr = correlation_id_++;
    l7::L7Fields q, a;
    q.request_id = a.request_id = corr;
    q.x_request_id_0 = a.x_request_id_1 = std::to_string(corr);
    auto [req, resp] = build(corr, q, a);
    q.request_length = static_cast<int64_t>(req.size()) - 4;
    a.response_length = static_cast<int64_t>(resp.size()) - 4;
    const size_t r = add(l7::Direction::kToServer, std::move(req), l7::MessageKind::kRequest, std::move(q));
    const size_t s = add(l7::Direction::kToClient, std::move(resp), l7::MessageKind::kResponse, std::move(a));
    conv_.messages[s].answers = static_cast<long>(r);
  }

  void request(l7::L7Fields& q, const char* name, int16_t v) {
    q.request_type = name;
    q.version = std::to_string(v);
    q.response_status = l7::ResponseStatus::kUnknown;
  }

  int16_t api(int max_version) const { return static_cast<int16_t>(std::min(version_, max_version)); }

  size_t add(l7::Direction dir, std::string bytes, l7::MessageKind kind, l7::L7Fields fields) {
    ModelMessage m;
    m.dir = dir;
    m.kind = kind;
    m.bytes = std::move(bytes);
    m.fields = std::move(fields);
    conv_.messages.push_back(std::move(m));
    return conv_.messages.size() - 1;
  }

  Rng& rng_;
  std::string focus_;
  int version_;
  ModelConversation& conv_;
  int32_t correlation_id_;
  std::string client_id_;
};

// The APIs decoded in full and their highest released versions (Kafka 4.1),
// each version a model version of its own.
struct DecodedApi {
  const char* name;
  int max_version;
};
constexpr DecodedApi kDecodedApis[] = {{"Produce", 13},  {"Fetch", 17},     {"JoinGroup", 9},
                                       {"SyncGroup", 5}, {"LeaveGroup", 5}, {"ApiVersions", 4}};

void generateKafka(Rng& rng, const std::string& version, size_t messages, ModelConversation& conv) {
  conv.endpoints.server.port = 9092;
  const size_t space = version.rfind(" v");
  KafkaConversation(rng, version.substr(0, space), std::stoi(version.substr(space + 2)), conv).generate(messages);
}

// A record shows the API and version its request was sent with.
bool kafkaRecordShowsVersion(const l7::Record& r, const std::string& version) {
  return version == r.f.request_type + " v" + r.f.version;
}

// Joined mid-stream (parsers/kafka/README.md, "Errors, caps and
// resynchronization"): both sides start resynchronizing. Requests are found
// by their strict header (any message boundary will do); a response only
// when a pending request awaits its correlation_id, and the bytes passed
// over meanwhile are dropped silently — so the responses to dropped requests
// that come before the first answer to a captured request leave no record.
// Once in step, a response whose request was not seen is decoded from its
// header only: correlation id and length, status unknown, type 1.
void joinKafka(const ModelConversation&, size_t, ModelConversation& rest) {
  bool in_step = false;
  for (ModelMessage& m : rest.messages) {
    if (m.kind != l7::MessageKind::kResponse) continue;
    if (m.answers >= 0) {
      in_step = true;
      continue;
    }
    if (!in_step) {
      m.silent = true;
      continue;
    }
    l7::L7Fields header;
    header.request_id = m.fields.request_id;
    header.x_request_id_1 = m.fields.x_request_id_1;
    header.response_length = m.fields.response_length;
    header.response_status = l7::ResponseStatus::kUnknown;
    m.fields = std::move(header);
  }
}

}  // namespace

Generator kafkaGenerator() {
  std::vector<std::string> versions = {"Produce v9"};  // the default: flexible versions, topic names
  for (const DecodedApi& api : kDecodedApis) {
    for (int v = 0; v <= api.max_version; ++v) {
      std::string name = std::string(api.name) + " v" + std::to_string(v);
      if (name != versions.front()) versions.push_back(std::move(name));
    }
  }
  Generator g{"kafka", "Kafka", l7::L7Protocol::kKafka, versions, generateKafka, kafkaRecordShowsVersion,
              /*pairs_by_id=*/true};
  g.join = joinKafka;
  return g;
}

}  // namespace l7h::synth
