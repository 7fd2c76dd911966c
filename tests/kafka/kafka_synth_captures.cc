// Writes the synthesized Kafka captures of corpus/kafka/ for the versions
// librdkafka's mock broker does not speak: flexible Produce (v9-v13), flexible
// Fetch (v12-v17, topic ids from v13), the flexible group APIs and
// ApiVersions v3/v4. Messages come from kafka_messages.h (built from the
// protocol guide's layouts), packets from the project's packetizer, so the
// captures are independent of the decoder; their goldens are reviewed
// against tshark (corpus/kafka/review_with_tshark.py).
//
//   kafka_synth_captures OUTPUT_DIR
#include <cstdio>
#include <string>
#include <vector>

#include "capture/frame_builder.h"
#include "synth/kafka_messages.h"
#include "synth/packetizer.h"

namespace kafkatest = l7h::synth::kafkawire;

using namespace kafkatest;  // NOLINT: the message builders
using l7::Direction;

namespace {

struct Exchange {
  std::string request;
  std::string response;  // empty: none (acks=0)
};

bool writeCapture(const std::string& path, uint16_t client_port, const std::vector<Exchange>& exchanges,
                  l7h::synth::Segmentation segmentation) {
  l7h::synth::Conversation c;
  c.client.ip.bytes = {127, 0, 0, 1};
  c.client.port = client_port;
  c.server.ip.bytes = {127, 0, 0, 1};
  c.server.port = 9092;
  l7h::synth::PacketPlan plan;
  plan.segmentation = segmentation;
  plan.seed = 7;
  l7h::synth::Packetizer packets(c, plan);
  int64_t ts = 1795536000000000;  // 2026-11-24T12:00:00Z
  for (const Exchange& e : exchanges) {
    packets.write(Direction::kToServer, e.request, ts += 1000);
    if (!e.response.empty()) packets.write(Direction::kToClient, e.response, ts += 350);
  }
  std::string error;
  if (!l7h::writePcap(path, l7h::LinkType::kEthernet, packets.finish(), error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return false;
  }
  std::printf("wrote %s\n", path.c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kafka_synth_captures OUTPUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string sw8_only = batch({record("k", "v", {{"sw8", kSw8}})}, 4);
  // Flexible Produce: traced records (zstd and plain), a partition error,
  // and an acks=0 request that gets no answer.
  std::vector<Exchange> produce = {
      {apiVersionsRequest(3, 0), apiVersionsResponse(3, 0, 0)},
      {produceRequest(9, 1, "flex-orders", 0, tracedRecords(4)), produceResponse(9, 1, "flex-orders", {{0, 0, 100}})},
      {produceRequest(10, 2, "flex-orders", 1, tracedRecords()), produceResponse(10, 2, "flex-orders", {{1, 0, 7}})},
      {produceRequest(11, 3, "flex-orders", 2, sw8_only),
       produceResponse(11, 3, "flex-orders", {{2, 10, -1}})},
      {produceRequest(12, 4, "flex-orders", 0, tracedRecords(1)), produceResponse(12, 4, "flex-orders", {{0, 0, 101}})},
      {produceRequest(13, 5, "", 0, tracedRecords()), produceResponse(13, 5, "", {{0, 0, 102}})},
      {produceRequest(11, 6, "fire-and-forget", 0, tracedRecords(3), /*acks=*/0), ""},
  };
  // Flexible Fetch, names (v12) then topic ids (v13+), with records carrying
  // trace headers and error codes at both levels.
  std::vector<Exchange> fetch = {
      {apiVersionsRequest(4, 0), apiVersionsResponse(4, 0, 0)},
      {fetchRequest(12, 1, "flex-logs", 0, 36), fetchResponse(12, 1, "flex-logs", 0, 0, 0, tracedRecords())},
      {fetchRequest(13, 2, "", 1, 40), fetchResponse(13, 2, "", 1, 0, 0, tracedRecords(2))},
      {fetchRequest(14, 3, "", 1, 41), fetchResponse(14, 3, "", 1, 0, 1, "")},
      {fetchRequest(15, 4, "", 2, 0), fetchResponse(15, 4, "", 2, 0, 0, "")},
      {fetchRequest(16, 5, "", 0, 5), fetchResponse(16, 5, "", 0, 70, 0, "")},
      {fetchRequest(17, 6, "", 0, 6), fetchResponse(17, 6, "", 0, 0, 0, tracedRecords(4))},
  };
  // The group protocol at its flexible versions, one refusal.
  std::vector<Exchange> group = {
      {joinGroupRequest(6, 1, "flex-group"), joinGroupResponse(6, 1, 79)},
      {joinGroupRequest(9, 2, "flex-group"), joinGroupResponse(9, 2, 0)},
      {syncGroupRequest(4, 3, "flex-group"), syncGroupResponse(4, 3, 0)},
      {syncGroupRequest(5, 4, "flex-group"), syncGroupResponse(5, 4, 27)},
      {leaveGroupRequest(4, 5, "flex-group"), leaveGroupResponse(4, 5, 0)},
      {leaveGroupRequest(5, 6, "flex-group"), leaveGroupResponse(5, 6, 0)},
  };
  bool ok = writeCapture(dir + "/synth-flexible-produce.pcap", 50101, produce, l7h::synth::Segmentation::kWhole);
  ok = writeCapture(dir + "/synth-flexible-fetch.pcap", 50102, fetch, l7h::synth::Segmentation::kRandom) && ok;
  ok = writeCapture(dir + "/synth-flexible-group.pcap", 50103, group, l7h::synth::Segmentation::kCoalesced) && ok;
  return ok ? 0 : 1;
}
