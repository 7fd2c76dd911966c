#include "synth/synthesizer.h"

#include <algorithm>
#include <map>

#include "l7/record_json.h"
#include "session/replay.h"
#include "synth/amqp_synth.h"
#include "synth/kafka_synth.h"
#include "synth/mqtt_synth.h"
#include "synth/nats_synth.h"
#include "synth/openwire_synth.h"
#include "synth/zmtp_synth.h"
#include "synth/pulsar_synth.h"

namespace l7h::synth {

const std::vector<Generator>& generators() {
  // THE generator list: one line per protocol.
  static const std::vector<Generator> kAll = {
      natsGenerator(),
      mqttGenerator(),
      amqpGenerator(),
      kafkaGenerator(),
      zmtpGenerator(),
      pulsarGenerator(),
      openwireGenerator(),
  };
  return kAll;
}

const Generator* findGenerator(std::string_view protocol) {
  for (const Generator& g : generators()) {
    if (g.protocol == protocol) return &g;
  }
  return nullptr;
}

bool buildModel(const SynthOptions& options, Model& model, std::string& error) {
  const Generator* g = findGenerator(options.protocol);
  if (g == nullptr) {
    error = "no generator for protocol '" + options.protocol + "'";
    return false;
  }
  if (options.join_at > 0 && options.plan.handshake) {
    error = "a capture that starts at a later message (join_at) has no handshake";
    return false;
  }
  model.protocol = options.protocol;
  model.version = options.version.empty() ? g->versions.front() : options.version;
  if (std::find(g->versions.begin(), g->versions.end(), model.version) == g->versions.end()) {
    error = "the " + options.protocol + " generator does not speak version '" + model.version + "'";
    return false;
  }
  Rng rng(options.seed);
  for (size_t k = 0; k < options.connections; ++k) {
    ModelConversation conv;
    // Distinct client ports (and, past 60000 connections, client addresses).
    const uint32_t n = static_cast<uint32_t>(k);
    if (options.ipv6) {
      conv.endpoints.client.ip.v4 = conv.endpoints.server.ip.v4 = false;
      conv.endpoints.client.ip.bytes = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(1 + n / 60000), 1};
      conv.endpoints.server.ip.bytes = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    } else {
      conv.endpoints.client.ip.bytes = {10, 1, static_cast<uint8_t>(n / 60000), 1};
      conv.endpoints.server.ip.bytes = {10, 2, 0, 1};
    }
    conv.endpoints.client.port = static_cast<uint16_t>(2000 + n % 60000);
    conv.endpoints.server.port = 0;
    conv.endpoints.client_isn = static_cast<uint32_t>(rng.next());
    conv.endpoints.server_isn = static_cast<uint32_t>(rng.next());
    conv.messages.reserve(options.messages + options.messages / 4 + 8);  // exchanges stay whole: a few more
    g->generate(rng, model.version, options.messages, conv);
    if (options.join_at > 0) joinMidStream(*g, model.version, options.join_at, conv);
    model.conversations.push_back(std::move(conv));
  }
  return true;
}

size_t joinMidStream(const Generator& g, const std::string& version, size_t wanted, ModelConversation& conv) {
  if (conv.messages.empty()) return 0;
  // At least one message stays: a connection with nothing captured would be
  // no connection at all, and the flow ids of the others would shift.
  size_t first = std::min(wanted, conv.messages.size() - 1);
  while (first > 0 && g.joinable != nullptr && !g.joinable(version, conv, first)) --first;
  if (first == 0) return 0;
  ModelConversation rest;
  rest.endpoints = conv.endpoints;
  rest.messages.assign(conv.messages.begin() + static_cast<std::ptrdiff_t>(first), conv.messages.end());
  for (ModelMessage& m : rest.messages) {
    std::erase_if(m.depends_on, [&](size_t i) { return i < first; });
    for (size_t& i : m.depends_on) i -= first;
    if (m.answers < 0) continue;
    // A response to a request before the join answers nothing it could see.
    m.answers = static_cast<size_t>(m.answers) < first ? -1 : m.answers - static_cast<long>(first);
  }
  if (g.join != nullptr) g.join(conv, first, rest);
  conv = std::move(rest);
  return first;
}

namespace {

struct ExpectedKey {
  int64_t start;
  Endpoint client, server;
  size_t order;
  auto operator<=>(const ExpectedKey&) const = default;
};

void flowColumns(const Generator& g, const Conversation& c, uint64_t flow_id, l7::Record& r) {
  r.flow_id = flow_id;
  r.is_ipv4 = c.client.ip.v4;
  (r.is_ipv4 ? r.ip4_0 : r.ip6_0) = c.client.ip.toString();
  (r.is_ipv4 ? r.ip4_1 : r.ip6_1) = c.server.ip.toString();
  r.protocol = 6;
  r.client_port = c.client.port;
  r.server_port = c.server.port;
  r.l7_protocol = g.l7_protocol;
  r.l7_protocol_str = std::string(g.l7_name);
}

// synthesize(), and with `with_frames` false synthesizeExpected().
Synthesized synthesizeAs(const Generator& generator, const Model& model, const SynthOptions& options, bool with_frames) {
  Synthesized out;
  out.link = options.plan.link;
  const Generator* g = &generator;
  // Records are sorted through their keys (a Record is large to move).
  std::vector<l7::Record> records;
  std::vector<std::pair<ExpectedKey, size_t>> keyed;
  size_t messages = 0;
  for (const ModelConversation& conv : model.conversations) messages += conv.messages.size();
  records.reserve(messages);
  keyed.reserve(messages);
  std::vector<std::pair<int64_t, CapturedFrame>> frames;
  const int64_t kMessageSpacingUs = options.message_spacing_us;
  // Conversations overlap in time: each starts a little after the previous.
  const int64_t kConversationSpacingUs = options.conversation_spacing_us;
  for (size_t k = 0; k < model.conversations.size(); ++k) {
    const ModelConversation& conv = model.conversations[k];
    PacketPlan plan = options.plan;
    plan.seed = options.plan.seed * 1000003u + k;
    Packetizer packetizer(conv.endpoints, plan);
    const int64_t start = options.start_us + static_cast<int64_t>(k) * kConversationSpacingUs;
    for (size_t i = 0; i < conv.messages.size(); ++i) {
      packetizer.write(conv.messages[i].dir, conv.messages[i].bytes, start + static_cast<int64_t>(i) * kMessageSpacingUs);
    }
    if (with_frames) {
      for (CapturedFrame& f : packetizer.finish()) frames.emplace_back(f.ts_us, std::move(f));
    } else {
      packetizer.place();
    }
    const auto& placed = packetizer.placements();
    out.placements.push_back(placed);

    // Expected records, by the contract's session rules.
    const uint64_t flow_id = k + 1;
    std::map<size_t, l7::Record> open;  // request index → record
    auto base = [&](size_t i) {
      const ModelMessage& m = conv.messages[i];
      l7::Record r;
      flowColumns(*g, conv.endpoints, flow_id, r);
      r.start_time_us = r.end_time_us = placed[i].ts_us;
      r.f = m.fields;
      const bool request_side = m.kind == l7::MessageKind::kRequest ||
                                (m.kind == l7::MessageKind::kOneWay && m.dir == l7::Direction::kToServer);
      if (request_side) {
        r.captured_request_byte = static_cast<int64_t>(m.bytes.size());
        r.req_tcp_seq = placed[i].tcp_seq;
      } else {
        r.captured_response_byte = static_cast<int64_t>(m.bytes.size());
        r.resp_tcp_seq = placed[i].tcp_seq;
      }
      return r;
    };
    auto emit = [&](size_t first_index, l7::Record&& r) {
      keyed.emplace_back(ExpectedKey{r.start_time_us, conv.endpoints.client, conv.endpoints.server, first_index},
                         records.size());
      records.push_back(std::move(r));
    };
    for (size_t i = 0; i < conv.messages.size(); ++i) {
      const ModelMessage& m = conv.messages[i];
      if (m.silent) continue;
      l7::Record r = base(i);
      switch (m.kind) {
        case l7::MessageKind::kOneWay:
          r.type = l7::RecordType::kSession;
          emit(i, std::move(r));
          break;
        case l7::MessageKind::kRequest:
          r.type = l7::RecordType::kRequest;
          open.emplace(i, std::move(r));
          break;
        case l7::MessageKind::kResponse: {
          auto it = m.answers >= 0 ? open.find(static_cast<size_t>(m.answers)) : open.end();
          if (it == open.end()) {
            r.type = l7::RecordType::kResponse;
            emit(i, std::move(r));
            break;
          }
          l7::Record q = std::move(it->second);
          const size_t request_index = it->first;
          open.erase(it);
          q.type = l7::RecordType::kSession;
          q.end_time_us = r.start_time_us;
          q.response_duration_us = std::max<int64_t>(0, q.end_time_us - q.start_time_us);
          q.captured_response_byte = r.captured_response_byte;
          q.resp_tcp_seq = r.resp_tcp_seq;
          q.f.response_status = r.f.response_status;
          q.f.response_code = r.f.response_code;
          q.f.response_exception = r.f.response_exception;
          q.f.response_result = r.f.response_result;
          q.f.x_request_id_1 = r.f.x_request_id_1;
          q.f.response_length = r.f.response_length;
          for (auto [mine, theirs] : {std::pair{&q.f.version, &r.f.version}, {&q.f.request_type, &r.f.request_type},
                                      {&q.f.request_domain, &r.f.request_domain},
                                      {&q.f.request_resource, &r.f.request_resource}, {&q.f.endpoint, &r.f.endpoint},
                                      {&q.f.span_id, &r.f.span_id}}) {
            if (mine->empty()) *mine = *theirs;
          }
          if (q.f.x_request_id_0.empty()) q.f.x_request_id_0 = r.f.x_request_id_0;
          if (!q.f.request_id) q.f.request_id = r.f.request_id;
          q.f.addTraceId(r.f.trace_id);
          q.f.addTraceId(r.f.trace_id_2);
          // Attributes: the request's, plus those only the response names.
          for (const l7::Attribute& attr : r.f.attributes) {
            if (std::none_of(q.f.attributes.begin(), q.f.attributes.end(),
                             [&](const l7::Attribute& x) { return x.name == attr.name; })) {
              q.f.attributes.push_back(attr);
            }
          }
          emit(request_index, std::move(q));
          break;
        }
      }
    }
    for (auto& [i, r] : open) emit(i, std::move(r));  // never answered: type 0 as carried
  }
  std::stable_sort(frames.begin(), frames.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out.frames.reserve(frames.size());
  for (auto& [ts, f] : frames) out.frames.push_back(std::move(f));
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out.expected.reserve(keyed.size());
  for (const auto& [key, i] : keyed) out.expected.push_back(std::move(records[i]));
  return out;
}

}  // namespace

Synthesized synthesize(const Model& model, const SynthOptions& options) {
  return synthesize(*findGenerator(model.protocol), model, options);
}

Synthesized synthesize(const Generator& generator, const Model& model, const SynthOptions& options) {
  return synthesizeAs(generator, model, options, true);
}

Synthesized synthesizeExpected(const Model& model, const SynthOptions& options) {
  return synthesizeAs(*findGenerator(model.protocol), model, options, false);
}

}  // namespace l7h::synth

namespace l7h::synth {

VersionCheck checkVersion(const Generator& g, const std::string& version, size_t cases) {
  VersionCheck result;
  for (size_t i = 0; i < cases; ++i) {
    SynthOptions o;
    o.protocol = std::string(g.protocol);
    o.version = version;
    o.seed = 0x5eed0000 + i;
    o.messages = 10 + i % 40;
    o.connections = 1 + i % 3;
    o.plan.seed = o.seed;
    o.plan.segmentation = static_cast<Segmentation>(i % 4);
    o.plan.mss = 1 + (i * 97) % 1460;
    o.plan.reorder_percent = static_cast<uint32_t>(i % 3 * 10);
    o.plan.retransmit_percent = static_cast<uint32_t>(i % 5 * 5);
    if (i % 5 == 2) {  // joined mid-stream, at the first message or a later one
      o.plan.handshake = false;
      o.join_at = i / 5 % 7;
    }
    Model model;
    std::string error;
    ++result.cases;
    if (!buildModel(o, model, error)) {
      if (result.failing_seed == 0) result.failing_seed = o.seed;
      continue;
    }
    const Synthesized s = synthesize(model, o);
    const auto bytes = pcapBytes(s.link, s.frames);
    std::string actual, expected;
    replayCaptureBytes(bytes, ReplayOptions{}, [&](const l7::Record& r) { l7::appendRecordJson(r, actual); });
    for (const auto& r : s.expected) l7::appendRecordJson(r, expected);
    if (actual == expected) {
      ++result.passed;
    } else if (result.failing_seed == 0) {
      result.failing_seed = o.seed;
    }
  }
  return result;
}

}  // namespace l7h::synth
