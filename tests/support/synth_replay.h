// Test support shared by the synthesizer properties (tests/property) and
// the tool that freezes their known cases as bytes (tests/regressions):
// replaying synthesized frames, records as JSON lines, and the "a gap loses
// only what it touches" check.
#pragma once

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capture/frame_builder.h"
#include "l7/record_json.h"
#include "session/replay.h"
#include "synth/synthesizer.h"

namespace l7h::synth {

inline std::string lines(const std::vector<l7::Record>& records) {
  std::string out;
  for (const auto& r : records) l7::appendRecordJson(r, out);
  return out;
}

inline std::vector<std::string> lineList(const std::vector<l7::Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    std::string line;
    l7::appendRecordJson(r, line);
    out.push_back(std::move(line));
  }
  return out;
}

// Replays the frames as a capture; `ok` false when the replay failed.
inline std::vector<l7::Record> replayFrames(const Synthesized& s, bool& ok) {
  const auto bytes = pcapBytes(s.link, s.frames);
  std::vector<l7::Record> records;
  ok = replayCaptureBytes(bytes, ReplayOptions{}, [&](const l7::Record& r) { records.push_back(r); }).ok;
  return records;
}

// One lost segment: every record that is not touched by the loss, nor by
// the first message after it in that direction (where the decoder
// resynchronizes), is still produced: one-way messages, and exchanges whose
// request and response are both untouched. Where responses pair by order,
// a lost exchange message may shift the pairing of every later exchange, so
// only exchanges before it are checked; with ids (Kafka) all are.
// Returns what is missing ("" when nothing is); `checked_exchanges` counts
// the exchanges looked at; `found`, when given, receives the record line
// found for each message checked (what a frozen copy of the case requires).
inline std::string gapLosesOnlyWhatItTouches(const Generator& g, const SynthOptions& o, const Model& model,
                                             size_t& checked_exchanges, std::vector<std::string>* found = nullptr) {
  checked_exchanges = 0;
  if (found != nullptr) found->clear();
  const ModelConversation& conv = model.conversations[0];
  // Which message lost bytes? Re-packetize the same plan to learn it.
  PacketPlan probe_plan = o.plan;
  probe_plan.seed = o.plan.seed * 1000003u;  // what synthesize() gives connection 0
  Packetizer probe(conv.endpoints, probe_plan);
  for (size_t i = 0; i < conv.messages.size(); ++i) probe.write(conv.messages[i].dir, conv.messages[i].bytes, 1 + i);
  probe.finish();
  std::set<size_t> affected;
  size_t first_lost_exchange_message = conv.messages.size();
  auto touch = [&](size_t i) {
    affected.insert(i);
    if (conv.messages[i].kind != l7::MessageKind::kOneWay) {
      first_lost_exchange_message = std::min(first_lost_exchange_message, i);
    }
  };
  for (size_t i = 0; i < conv.messages.size(); ++i) {
    if (!probe.placements()[i].lost) continue;
    touch(i);
    for (size_t j = i + 1; j < conv.messages.size(); ++j) {
      if (conv.messages[j].dir == conv.messages[i].dir) {
        touch(j);  // where the decoder resynchronizes
        break;
      }
    }
  }
  // Joined mid-stream, each side starts as after a gap, with the decoder
  // resynchronizing on its first message; MQTT accepts a packet start only
  // together with the valid packet that follows it, so a loss in a side's
  // second message takes its first one too.
  if (!o.plan.handshake) {
    for (l7::Direction d : {l7::Direction::kToServer, l7::Direction::kToClient}) {
      std::vector<size_t> side;
      for (size_t i = 0; i < conv.messages.size() && side.size() < 2; ++i) {
        if (conv.messages[i].dir == d) side.push_back(i);
      }
      if (side.size() == 2 && probe.placements()[side[1]].lost) touch(side[0]);
    }
  }
  // A record that depends on another message (ModelMessage::depends_on) is
  // touched when that message is.
  for (size_t i = 0; i < conv.messages.size(); ++i) {
    for (size_t other : conv.messages[i].depends_on) {
      if (affected.count(other)) touch(i);
    }
  }
  // Losing a message that carries connection state (NATS INFO: version,
  // server name; ZMTP's greetings and READYs: socket types) legitimately
  // changes every later record.
  for (size_t i : affected) {
    if (g.carries_state != nullptr ? g.carries_state(conv, i) : i == 0) return "";
  }
  const Synthesized s = synthesize(model, o);
  bool ok = false;
  const auto actual = lineList(replayFrames(s, ok));
  if (!ok) return "the replay failed";
  const std::multiset<std::string> produced(actual.begin(), actual.end());
  // The expected record of message i (a one-way message, or the request of
  // an exchange answered by message `answer`), found by type, start time
  // and sizes.
  auto expectedLine = [&](size_t i, const ModelMessage* answer) -> std::optional<std::string> {
    const ModelMessage& m = conv.messages[i];
    for (const auto& r : s.expected) {
      if (r.f.request_type != m.fields.request_type) continue;
      const bool request_side = m.kind == l7::MessageKind::kRequest || m.dir == l7::Direction::kToServer;
      const int64_t bytes = request_side ? r.captured_request_byte : r.captured_response_byte;
      if (bytes != static_cast<int64_t>(m.bytes.size())) continue;
      if (answer != nullptr && r.captured_response_byte != static_cast<int64_t>(answer->bytes.size())) continue;
      if (r.f.request_id != m.fields.request_id || r.f.x_request_id_0 != m.fields.x_request_id_0) continue;
      std::string line;
      l7::appendRecordJson(r, line);
      if (produced.count(line)) return line;
    }
    return std::nullopt;
  };
  for (size_t i = 0; i < conv.messages.size(); ++i) {
    const ModelMessage& m = conv.messages[i];
    if (affected.count(i) || m.silent) continue;
    if (m.kind == l7::MessageKind::kOneWay) {
      const std::optional<std::string> line = expectedLine(i, nullptr);
      if (!line) {
        return "lost one-way message " + std::to_string(i) + " (" + m.fields.request_type + ", " +
               std::to_string(m.bytes.size()) + " bytes, direction " + std::to_string(static_cast<int>(m.dir)) + ")";
      }
      if (found != nullptr) found->push_back(*line);
      continue;
    }
    if (m.kind != l7::MessageKind::kResponse || m.answers < 0) continue;
    const size_t request = static_cast<size_t>(m.answers);
    if (affected.count(request)) continue;
    if (!g.pairs_by_id && std::max(request, i) > first_lost_exchange_message) continue;
    ++checked_exchanges;
    const std::optional<std::string> line = expectedLine(request, &m);
    if (!line) {
      return "lost exchange " + std::to_string(request) + " -> " + std::to_string(i) + " (" +
             conv.messages[request].fields.request_type + ")";
    }
    if (found != nullptr) found->push_back(*line);
  }
  return "";
}

// The l7conform command that writes the same capture (logged on failure).
inline std::string reproduceCommand(const SynthOptions& o) {
  static constexpr const char* kLinks[] = {"ethernet", "sll", "sll2", "null", "raw"};
  std::string c = "l7conform synth --protocol " + o.protocol + " --version '" + o.version +
                  "' --seed " + std::to_string(o.seed) + " --plan-seed " + std::to_string(o.plan.seed) +
                  " --count " + std::to_string(o.messages) + " --connections " + std::to_string(o.connections) +
                  " --segmentation " + segmentationName(o.plan.segmentation) + " --mss " + std::to_string(o.plan.mss) +
                  " --retransmit " + std::to_string(o.plan.retransmit_percent) + " --reorder " +
                  std::to_string(o.plan.reorder_percent) + " --link " + kLinks[static_cast<int>(o.plan.link)];
  if (!o.plan.vlan_tags.empty()) c += " --vlan " + std::to_string(o.plan.vlan_tags[0]);
  if (o.plan.drop_one) c += " --drop-one";
  if (!o.plan.handshake) c += " --no-handshake";
  if (o.join_at > 0) c += " --join-at " + std::to_string(o.join_at);
  if (o.ipv6) c += " --ipv6";
  return c + " -o case.pcap --expect case.jsonl";
}

}  // namespace l7h::synth
