// The template decoder's synthesizer generator and its property: a model
// of TOY traffic → wire bytes → a capture at any TCP segmentation → the
// records the model says, through the whole pipeline (capture, reassembly,
// the symmetric-opening rule, the decoder, pairing and the protocol's merge).
// A registered protocol's generator lives in harness/synth/<proto>_synth.cc
// and is listed in generators(); TOY is not registered, so its generator is
// here and the replay names the decoder (ReplayOptions::decoders).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <string>

#include "capture/frame_builder.h"
#include "l7/record_json.h"
#include "session/replay.h"
#include "synth/synthesizer.h"
#include "template/toy_decoder.h"

namespace l7h::synth {
namespace {

using l7::Direction;
using l7::toy::FrameType;

std::string be(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}
std::string frame(FrameType type, uint8_t channel, const std::string& body) {
  return be(body.size() + 2, 4) + static_cast<char>(type) + static_cast<char>(channel) + body;
}

constexpr const char* kTexts[] = {"orders", "a", "sensors/kitchen", "x-1"};

ModelMessage message(Direction dir, l7::MessageKind kind, std::string bytes, const char* type, const std::string& v) {
  ModelMessage m;
  m.dir = dir;
  m.kind = kind;
  m.bytes = std::move(bytes);
  m.fields.request_type = type;
  m.fields.version = v;
  m.fields.response_status = kind == l7::MessageKind::kRequest ? l7::ResponseStatus::kUnknown : l7::ResponseStatus::kOk;
  return m;
}

// Both greetings with the model's version, then exchanges (a status or a
// text operation, ids of 64 bits), notes and bodies of one to three frames.
void generateToy(Rng& rng, const std::string& version, size_t messages, ModelConversation& out) {
  const uint8_t v = static_cast<uint8_t>(std::stoi(version));
  const std::string hello = frame(FrameType::kHello, 0, std::string(1, static_cast<char>(v)));
  out.messages.push_back(message(Direction::kToServer, l7::MessageKind::kOneWay, hello, "HELLO", version));
  out.messages.push_back(message(Direction::kToClient, l7::MessageKind::kOneWay, hello, "HELLO", version));
  while (out.messages.size() < messages) {
    const std::string text = kTexts[rng.below(std::size(kTexts))];
    switch (rng.below(3)) {
      case 0: {  // an exchange
        const uint8_t channel = static_cast<uint8_t>(rng.below(4));
        const uint64_t id = rng.next(), id2 = rng.next();
        const bool status = rng.below(2) == 0;
        const std::string ids = be(id, 8) + be(id2, 8);
        ModelMessage q = message(Direction::kToServer, l7::MessageKind::kRequest,
                                 frame(FrameType::kRequest, channel, ids + static_cast<char>(status ? 1 : 2) + text),
                                 "REQ", version);
        q.fields.request_id = static_cast<int64_t>(id);
        q.fields.request_resource = q.fields.endpoint = text;
        std::string answer;
        ModelMessage a = message(Direction::kToClient, l7::MessageKind::kResponse, "", "", version);
        if (status) {
          const uint16_t code = rng.below(3) == 0 ? 503 : 0;
          answer = be(code, 2);
          a.fields.response_code = code;
          if (code != 0) {
            a.fields.response_status = l7::ResponseStatus::kServerError;
            a.fields.response_exception = "status 503";
          }
        } else {
          answer = "reply to " + text;
          a.fields.response_result = answer;
        }
        a.bytes = frame(FrameType::kResponse, channel, ids + answer);
        a.answers = static_cast<long>(out.messages.size());
        out.messages.push_back(std::move(q));
        out.messages.push_back(std::move(a));
        break;
      }
      case 1: {
        ModelMessage n = message(Direction::kToServer, l7::MessageKind::kOneWay, frame(FrameType::kNote, 0, text),
                                 "NOTE", version);
        n.fields.request_resource = text;
        out.messages.push_back(std::move(n));
        break;
      }
      default: {  // a body of 1-3 PART frames, from either side
        const Direction dir = rng.below(2) == 0 ? Direction::kToServer : Direction::kToClient;
        const uint8_t channel = static_cast<uint8_t>(rng.below(4));
        const size_t parts = 1 + rng.below(3);
        std::string bytes;
        for (size_t i = 0; i < parts; ++i) {
          bytes += frame(FrameType::kPart, channel, std::string(1, i + 1 < parts ? '\1' : '\0') + text);
        }
        out.messages.push_back(message(dir, l7::MessageKind::kOneWay, bytes, "BODY", version));
        break;
      }
    }
  }
}

const Generator& toyGenerator() {
  static const Generator g{"toy", "TOY", l7::L7Protocol::kUnknown, {"1", "2"}, generateToy};
  return g;
}

std::string lines(const std::vector<l7::Record>& records) {
  std::string out;
  for (const l7::Record& r : records) l7::appendRecordJson(r, out);
  return out;
}

RC_GTEST_PROP(ToySynth, ReplayOfSynthesizedTrafficEqualsTheModelsRecords, ()) {
  SynthOptions o;
  o.protocol = "toy";
  o.version = *rc::gen::element<std::string>("1", "2");
  o.seed = *rc::gen::arbitrary<uint64_t>();
  o.messages = *rc::gen::inRange<size_t>(2, 40);
  o.plan.seed = *rc::gen::arbitrary<uint64_t>();
  o.plan.segmentation = *rc::gen::element(Segmentation::kWhole, Segmentation::kOneByte, Segmentation::kRandom);
  o.plan.mss = *rc::gen::inRange<size_t>(1, 200);
  Model model;
  model.protocol = o.protocol;
  model.version = o.version;
  ModelConversation conv;
  conv.endpoints.client.ip.bytes = {10, 1, 0, 1};
  conv.endpoints.server.ip.bytes = {10, 2, 0, 1};
  conv.endpoints.client.port = 2000;
  conv.endpoints.server.port = 7777;
  Rng rng(o.seed);
  toyGenerator().generate(rng, o.version, o.messages, conv);
  model.conversations.push_back(std::move(conv));
  const Synthesized s = synthesize(toyGenerator(), model, o);

  static const std::array<l7::DecoderInfo, 1> kDecoders = {l7::toy::toyDecoderInfo()};
  ReplayOptions options;
  options.decoders = kDecoders;
  std::vector<l7::Record> actual;
  const ReplayResult r = replayCaptureBytes(pcapBytes(s.link, s.frames), options,
                                            [&](const l7::Record& rec) { actual.push_back(rec); });
  RC_ASSERT(r.ok);
  RC_ASSERT(lines(actual) == lines(s.expected));
}

}  // namespace
}  // namespace l7h::synth
