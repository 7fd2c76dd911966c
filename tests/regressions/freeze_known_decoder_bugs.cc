// Writes the KnownDecoderBugs cases as bytes (README.md): each case's
// capture, built by the synthesizer from the shrunk case the properties
// found, and the records the regression test compares with. A case is
// written only when the decoder gives those records today, so a frozen
// file always states behaviour that passed.
//
//   freeze_known_decoder_bugs [--rewrite] OUT_DIR   (tests/regressions/freeze.sh runs it)
// Writes only the cases not frozen yet, unless --rewrite.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "support/synth_replay.h"

namespace l7h::synth {
namespace {

struct KnownCase {
  std::string file;  // OUT_DIR/<file>.pcap and .jsonl
  SynthOptions options;
  // Joined at options.join_at exactly, by the generator's join rule even
  // where its joinable rule would move the join (the properties' shrinker
  // found these with the join placed by hand).
  bool join_by_hand = false;
  // A lost segment: the .jsonl holds the records the gap must leave intact
  // (one line per message checked), not the whole replay.
  bool gap = false;
};

SynthOptions joinedCase(const std::string& protocol, const std::string& version, uint64_t seed, uint64_t plan_seed,
                        size_t count, Segmentation segmentation, size_t mss, LinkType link, size_t join_at) {
  SynthOptions o;
  o.protocol = protocol;
  o.version = version;
  o.seed = seed;
  o.messages = count;
  o.plan.seed = plan_seed;
  o.plan.segmentation = segmentation;
  o.plan.mss = mss;
  o.plan.link = link;
  o.plan.handshake = false;
  o.join_at = join_at;
  return o;
}

SynthOptions withDrop(SynthOptions o, bool handshake = false) {
  o.plan.drop_one = true;
  o.plan.handshake = handshake;
  return o;
}

// A ZMTP gap case the resynchronization property found (no handshake).
KnownCase zmtpGap(const char* file, const char* version, uint64_t seed, uint64_t plan_seed, size_t count,
                  Segmentation segmentation, size_t mss, LinkType link) {
  return {file, withDrop(joinedCase("zmtp", version, seed, plan_seed, count, segmentation, mss, link, 0)), false, true};
}

std::vector<KnownCase> knownCases() {
  SynthOptions two_connections = joinedCase("kafka", "JoinGroup v8", 110604905090181225ull, 0, 10, Segmentation::kWhole,
                                            1, LinkType::kLinuxSll2, 5);
  two_connections.connections = 2;
  return {
      {"MqttJoinedAfterTheConnectPairsByOrderAcrossTheResyncWait",
       joinedCase("mqtt", "3.1.1", 1, 0, 5, Segmentation::kWhole, 1460, LinkType::kLinuxSll2, 1), true, false},
      {"MqttResyncDoesNotHoldBackTheSideBehindAFalseStart",
       withDrop(joinedCase("mqtt", "3.1.1", 128025841217648292ull, 6784, 19, Segmentation::kRandom, 8,
                           LinkType::kEthernet, 0),
                /*handshake=*/true),
       false, true},
      {"MqttJoinedAfterTheConnectWhereBothSidesHold",
       joinedCase("mqtt", "3.1.1", 0, 0, 13, Segmentation::kOneByte, 1, LinkType::kNull, 3), true, false},
      {"MqttAnswersOfTheResyncingSideWaitForHeldRequests",
       withDrop(joinedCase("mqtt", "5.0", 3755146120248590ull, 912, 15, Segmentation::kOneByte, 1, LinkType::kRawIp, 0)),
       false, true},
      {"MqttGapBeforeRecognitionKeepsTheHeldMessages",
       withDrop(joinedCase("mqtt", "3.1.1", 125820, 1, 10, Segmentation::kOneByte, 1, LinkType::kLinuxSll2, 2)), true,
       true},
      {"NatsJoinedAtShortMessagesKeepsThemThroughALaterGap",
       withDrop(joinedCase("nats", "0", 20465958373817ull, 0, 18, Segmentation::kOneByte, 1, LinkType::kNull, 13)), true,
       true},
      {"KafkaJoinedAtAResponseKeepsTheRoles",
       joinedCase("kafka", "Produce v0", 22478192411ull, 0, 6, Segmentation::kWhole, 1, LinkType::kLinuxSll, 3), true,
       false},
      {"KafkaJoinedBeforeResponsesToLostRequestsFindsTheRealAnswers", two_connections, true, false},
      {"KafkaResyncDoesNotWaitOnAFalseRequestHeader-joined-fetch-v12",
       withDrop(joinedCase("kafka", "Fetch v12", 1929545, 2125748, 3, Segmentation::kRandom, 62, LinkType::kLinuxSll, 1)),
       true, true},
      {"KafkaResyncDoesNotWaitOnAFalseRequestHeader-joined-fetch-v2",
       withDrop(joinedCase("kafka", "Fetch v2", 346, 760, 5, Segmentation::kOneByte, 1, LinkType::kRawIp, 1)), true,
       true},
      {"MqttEndOfStreamTakesTheChainThatCoversTheRestExactly",
       withDrop(joinedCase("mqtt", "3.1.1", 7012321480ull, 826, 8, Segmentation::kWhole, 140, LinkType::kLinuxSll2, 1)),
       false, true},
      {"ZmtpGapsLoseOnlyWhatTheyTouch-3.0-a",
       withDrop(joinedCase("zmtp", "3.0", 4342245045765143075ull, 324604219589056ull, 37, Segmentation::kOneByte, 1,
                           LinkType::kNull, 0)),
       false, true},
      {"ZmtpGapsLoseOnlyWhatTheyTouch-3.1",
       withDrop(joinedCase("zmtp", "3.1", 452, 0, 8, Segmentation::kRandom, 2, LinkType::kNull, 0)), false, true},
      {"ZmtpGapsLoseOnlyWhatTheyTouch-3.0-b",
       withDrop(joinedCase("zmtp", "3.0", 16461344006ull, 0, 15, Segmentation::kOneByte, 1, LinkType::kNull, 0)),
       false, true},
      {"ZmtpGapsLoseOnlyWhatTheyTouch-3.0-c",
       withDrop(joinedCase("zmtp", "3.0", 1488490503415502ull, 0, 10, Segmentation::kOneByte, 1, LinkType::kEthernet, 0)),
       false, true},
      zmtpGap("ZmtpResyncTakesTheDenserChainInsideAFalseFrame-3.0-a",
              "3.0", 8065691491ull, 5835508205ull, 21, Segmentation::kOneByte, 1, LinkType::kRawIp),
      zmtpGap("ZmtpResyncTakesTheDenserChainInsideAFalseFrame-3.0-b",
              "3.0", 57787574934638ull, 29785212509826ull, 10, Segmentation::kRandom, 64, LinkType::kLinuxSll2),
      zmtpGap("ZmtpResyncTakesTheDenserChainInsideAFalseFrame-3.1",
              "3.1", 137624875247733442ull, 114982432124308002ull, 21, Segmentation::kRandom, 64, LinkType::kNull),
      zmtpGap("ZmtpResyncTakesTheDenserChainAcrossAFalseChainsEnd-3.1",
              "3.1", 283226397282642255ull, 263749104500992373ull, 17, Segmentation::kRandom, 57, LinkType::kEthernet),
      zmtpGap("ZmtpResyncTakesTheDenserChainInsideAFalseFrameAtTheEnd-3.1",
              "3.1", 239291ull, 157147ull, 13, Segmentation::kWhole, 253, LinkType::kNull),
      zmtpGap("ZmtpResyncReadsEmptyMessagesInARow-3.0-a",
              "3.0", 590946059979789923ull, 974636466951786ull, 13, Segmentation::kWhole, 138, LinkType::kLinuxSll),
      zmtpGap("ZmtpResyncReadsEmptyMessagesInARow-3.0-b",
              "3.0", 32880337012814374ull, 173102972414761903ull, 30, Segmentation::kCoalesced, 881, LinkType::kRawIp),
      zmtpGap("ZmtpCurveResyncTakesOnlyMessageFrames-3.0-a",
              "3.0", 9069329080947667265ull, 389126243921150660ull, 34, Segmentation::kWhole, 548, LinkType::kNull),
      zmtpGap("ZmtpCurveResyncTakesOnlyMessageFrames-3.0-b",
              "3.0", 334685461ull, 888971733ull, 14, Segmentation::kRandom, 49, LinkType::kRawIp),
      zmtpGap("ZmtpResyncKeepsTheMessagesAfterACutResponse-3.1",
              "3.1", 198943685332960ull, 184844260928182ull, 17, Segmentation::kCoalesced, 661, LinkType::kLinuxSll),
      zmtpGap("ZmtpResyncTieKeepsAStartWhoseSizeReadsAsFlags-3.0",
              "3.0", 53884072832886ull, 69578708515080ull, 23, Segmentation::kRandom, 64, LinkType::kRawIp),
      zmtpGap("ZmtpCurveResyncIgnoresZeroRunsInNonces-3.1",
              "3.1", 19359482950630ull, 16786636262239ull, 28, Segmentation::kWhole, 667, LinkType::kRawIp),
      zmtpGap("ZmtpResyncRunOfZerosConfirmsNothingAlone-3.1",
              "3.1", 19555248380ull, 8919692477ull, 17, Segmentation::kCoalesced, 457, LinkType::kLinuxSll2),
      zmtpGap("ZmtpResyncTieKeepsALongHeader-3.1",
              "3.1", 15067300201330ull, 8017267869046ull, 21, Segmentation::kRandom, 64, LinkType::kRawIp),
      {"PulsarBrokerCommandsWaitForTheTopicInTheClientsBytesInQuestion",
       joinedCase("pulsar", "17", 62848, 0, 7, Segmentation::kWhole, 1, LinkType::kEthernet, 2), false, false},
      {"KafkaResyncDoesNotWaitOnAFalseRequestHeader-handshake-fetch-v4",
       withDrop(joinedCase("kafka", "Fetch v4", 400808676759222425ull, 424565188267602520ull, 23,
                           Segmentation::kOneByte, 1, LinkType::kRawIp, 0),
                /*handshake=*/true),
       true, true},
  };
}

bool buildCaseModel(const KnownCase& c, Model& model, std::string& error) {
  if (!c.join_by_hand) return buildModel(c.options, model, error);
  SynthOptions whole = c.options;
  whole.join_at = 0;
  if (!buildModel(whole, model, error)) return false;
  Generator g = *findGenerator(c.options.protocol);
  g.joinable = nullptr;
  for (ModelConversation& conv : model.conversations) {
    if (joinMidStream(g, c.options.version, c.options.join_at, conv) != c.options.join_at) {
      error = "cannot join at message " + std::to_string(c.options.join_at);
      return false;
    }
  }
  return true;
}

bool writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  return static_cast<bool>(out << text);
}

// Writes one case; false (with a reason on stderr) when the decoder does
// not give today what the case requires. A case already frozen is left as
// it is unless `rewrite`: the generator's use of random numbers may have
// changed since, and its bytes are what the regression test stands for.
bool freeze(const KnownCase& c, const std::string& dir, bool rewrite) {
  if (!rewrite && std::ifstream(dir + "/" + c.file + ".pcap").good()) {
    std::printf("%s: already frozen, left as it is\n", c.file.c_str());
    return true;
  }
  Model model;
  std::string error;
  if (!buildCaseModel(c, model, error)) {
    std::fprintf(stderr, "%s: %s\n", c.file.c_str(), error.c_str());
    return false;
  }
  const Synthesized s = synthesize(model, c.options);
  std::string jsonl;
  size_t exchanges = 0;
  if (c.gap) {
    std::vector<std::string> found;
    const std::string missing =
        gapLosesOnlyWhatItTouches(*findGenerator(c.options.protocol), c.options, model, exchanges, &found);
    if (!missing.empty()) {
      std::fprintf(stderr, "%s: not frozen, the gap check fails today: %s\n", c.file.c_str(), missing.c_str());
      return false;
    }
    for (const std::string& line : found) jsonl += line;
  } else {
    bool ok = false;
    const std::string actual = lines(replayFrames(s, ok));
    jsonl = lines(s.expected);
    if (!ok || actual != jsonl) {
      std::fprintf(stderr, "%s: not frozen, the replay differs from the model's records today\n", c.file.c_str());
      return false;
    }
  }
  if (!writePcap(dir + "/" + c.file + ".pcap", s.link, s.frames, error)) {
    std::fprintf(stderr, "%s: %s\n", c.file.c_str(), error.c_str());
    return false;
  }
  if (!writeText(dir + "/" + c.file + ".jsonl", jsonl)) {
    std::fprintf(stderr, "%s: cannot write its records\n", c.file.c_str());
    return false;
  }
  std::printf("%s: %zu packets, %zu record lines%s\n  %s%s\n", c.file.c_str(), s.frames.size(),
              static_cast<size_t>(std::count(jsonl.begin(), jsonl.end(), '\n')),
              c.gap ? (", " + std::to_string(exchanges) + " exchanges checked").c_str() : "",
              reproduceCommand(c.options).c_str(),
              c.join_by_hand && c.options.join_at > 0 ? "   (joined there by hand)" : "");
  return true;
}

}  // namespace
}  // namespace l7h::synth

int main(int argc, char** argv) {
  const bool rewrite = argc == 3 && std::string(argv[1]) == "--rewrite";
  if (argc != 2 && !rewrite) {
    std::fprintf(stderr, "usage: %s [--rewrite] OUT_DIR\n", argv[0]);
    return 2;
  }
  bool ok = true;
  for (const auto& c : l7h::synth::knownCases()) ok = l7h::synth::freeze(c, argv[argc - 1], rewrite) && ok;
  return ok ? 0 : 1;
}
