// The synthesizer: protocol conversation models → wire bytes → capture, plus
// the l7_flow_log records the model must produce.
//
// A generator (one per protocol, listed once in synthesizer.cc) turns a
// model into ModelMessages: the bytes one side writes and what that message
// contributes to its record, by the published mapping table. The driver
// packetizes the bytes (packetizer.h) and derives the expected records from
// the contract alone (spec/l7_flow_log.md "Sessions"): it shares no code
// with the decoders or the session layer, so a property replay(synth(m)) ==
// expected(m) checks them against an independent reading of the contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "l7/record.h"
#include "synth/packetizer.h"

namespace l7h::synth {

// One message of a model conversation.
struct ModelMessage {
  l7::Direction dir = l7::Direction::kToServer;
  std::string bytes;
  l7::MessageKind kind = l7::MessageKind::kOneWay;
  // For a response: the index (in the conversation) of the request it
  // answers, or -1 for a response without request.
  long answers = -1;
  // What this message alone puts in its record: for a request the request
  // columns, for a response the response columns.
  l7::L7Fields fields;
  // On the wire but in no record: bytes the decoder documents it passes over
  // (e.g. responses before it has resynchronized on a capture joined
  // mid-stream).
  bool silent = false;
  // Other messages (their indices) whose loss changes this message's
  // record too: AMQP's records take the vhost of Connection.Open, and a
  // content method the trace of its content header.
  std::vector<size_t> depends_on;
};

struct ModelConversation {
  Conversation endpoints;
  std::vector<ModelMessage> messages;
};

struct Model {
  std::string protocol;  // registry key, e.g. "nats"
  std::string version;   // the protocol version the model speaks
  std::vector<ModelConversation> conversations;
};

struct SynthOptions {
  std::string protocol = "nats";
  std::string version;  // empty: the generator's default
  uint64_t seed = 1;
  size_t messages = 50;  // per connection (approximate: exchanges are kept whole)
  size_t connections = 1;
  PacketPlan plan;
  // Without handshake (plan.handshake false), every connection's capture
  // starts at this message boundary: the messages before it are not in the
  // capture, and the expected records are what the decoder documents for a
  // connection joined there (Generator::join). Clamped to the last message,
  // and moved back to the nearest boundary the decoder claims to decode from
  // (Generator::joinable). 0: the capture starts with the first message.
  size_t join_at = 0;
  bool ipv6 = false;
  int64_t start_us = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
  int64_t message_spacing_us = 100;      // between one connection's messages
  int64_t conversation_spacing_us = 37;  // between connection starts (they overlap)
};

struct Generator {
  std::string_view protocol;     // registry key
  std::string_view l7_name;      // l7_protocol_str
  l7::L7Protocol l7_protocol;
  std::vector<std::string> versions;  // every version the generator speaks; [0] is the default
  // Appends one conversation of about `messages` messages.
  void (*generate)(Rng& rng, const std::string& version, size_t messages, ModelConversation& out);
  // Whether a decoded record shows that its capture used `version` (for the
  // version matrix's "real captures" column); nullptr: cannot tell.
  bool (*record_shows_version)(const l7::Record& record, const std::string& version) = nullptr;
  // Whether responses find their request by an id on the wire (Kafka's
  // correlation_id) rather than by order; with ids, a lost message cannot
  // shift the pairing of later exchanges.
  bool pairs_by_id = false;
  // Captures joined mid-stream at message `first` of a conversation (no
  // handshake; SynthOptions::join_at). `joinable`: whether the decoder claims
  // to decode the rest from that boundary (nullptr: from any). `join`: what
  // the remaining messages then contribute, by the decoder's documented
  // mid-stream behaviour (state the dropped messages carried is unknown;
  // responses whose requests were dropped are already responses without
  // request, answers = -1, when it is called). nullptr: what they contribute
  // in a whole capture.
  bool (*joinable)(const std::string& version, const ModelConversation& whole, size_t first) = nullptr;
  void (*join)(const ModelConversation& whole, size_t first, ModelConversation& rest) = nullptr;
  // Whether message `i` carries connection state that later records depend
  // on (NATS's INFO, ZMTP's greetings and READYs): losing it may change
  // every record after it. nullptr: only the conversation's first message.
  bool (*carries_state)(const ModelConversation& conv, size_t i) = nullptr;
};

// Runs `cases` random models of one protocol version through synthesize and
// replay; returns the number that matched and, on a mismatch, its seed.
struct VersionCheck {
  size_t cases = 0, passed = 0;
  uint64_t failing_seed = 0;
};
VersionCheck checkVersion(const Generator& g, const std::string& version, size_t cases);

const std::vector<Generator>& generators();
const Generator* findGenerator(std::string_view protocol);

// Model → frames. `placements` are per conversation, per message.
struct Synthesized {
  std::vector<CapturedFrame> frames;
  std::vector<l7::Record> expected;
  std::vector<std::vector<Placement>> placements;
  LinkType link = LinkType::kEthernet;
};

// Builds a random model from the options (deterministic in the seed).
bool buildModel(const SynthOptions& options, Model& model, std::string& error);
// The conversation as captured from message `wanted` on (see
// SynthOptions::join_at); returns the boundary actually used.
size_t joinMidStream(const Generator& g, const std::string& version, size_t wanted, ModelConversation& conv);
// Packetizes a model and derives its expected records.
Synthesized synthesize(const Model& model, const SynthOptions& options);
// The same with a generator outside generators() (a test's own, e.g. the
// template decoder's).
Synthesized synthesize(const Generator& g, const Model& model, const SynthOptions& options);
// The same without frames (empty): placements and expected records only, for
// a caller that feeds the messages' bytes itself at their placements (the
// round-trip fuzz target); building frames costs more than the rest.
Synthesized synthesizeExpected(const Model& model, const SynthOptions& options);

}  // namespace l7h::synth
