#include "kafka/kafka_api.h"

#include <array>

namespace l7::kafka {
namespace {

struct ApiEntry {
  std::string_view name;
  int16_t max_version;
};

// Index = api key. Max versions as of Kafka 4.1.
constexpr std::array<ApiEntry, 93> kApis = {{
    {"Produce", 13},
    {"Fetch", 17},
    {"ListOffsets", 10},
    {"Metadata", 13},
    {"LeaderAndIsr", 7},
    {"StopReplica", 4},
    {"UpdateMetadata", 8},
    {"ControlledShutdown", 3},
    {"OffsetCommit", 10},
    {"OffsetFetch", 10},
    {"FindCoordinator", 6},
    {"JoinGroup", 9},
    {"Heartbeat", 4},
    {"LeaveGroup", 5},
    {"SyncGroup", 5},
    {"DescribeGroups", 6},
    {"ListGroups", 5},
    {"SaslHandshake", 1},
    {"ApiVersions", 4},
    {"CreateTopics", 7},
    {"DeleteTopics", 6},
    {"DeleteRecords", 2},
    {"InitProducerId", 6},
    {"OffsetForLeaderEpoch", 4},
    {"AddPartitionsToTxn", 5},
    {"AddOffsetsToTxn", 4},
    {"EndTxn", 5},
    {"WriteTxnMarkers", 1},
    {"TxnOffsetCommit", 5},
    {"DescribeAcls", 3},
    {"CreateAcls", 3},
    {"DeleteAcls", 3},
    {"DescribeConfigs", 4},
    {"AlterConfigs", 2},
    {"AlterReplicaLogDirs", 2},
    {"DescribeLogDirs", 4},
    {"SaslAuthenticate", 2},
    {"CreatePartitions", 3},
    {"CreateDelegationToken", 3},
    {"RenewDelegationToken", 2},
    {"ExpireDelegationToken", 2},
    {"DescribeDelegationToken", 3},
    {"DeleteGroups", 2},
    {"ElectLeaders", 2},
    {"IncrementalAlterConfigs", 1},
    {"AlterPartitionReassignments", 1},
    {"ListPartitionReassignments", 0},
    {"OffsetDelete", 0},
    {"DescribeClientQuotas", 1},
    {"AlterClientQuotas", 1},
    {"DescribeUserScramCredentials", 0},
    {"AlterUserScramCredentials", 0},
    {"Vote", 2},
    {"BeginQuorumEpoch", 1},
    {"EndQuorumEpoch", 1},
    {"DescribeQuorum", 2},
    {"AlterPartition", 3},
    {"UpdateFeatures", 1},
    {"Envelope", 0},
    {"FetchSnapshot", 1},
    {"DescribeCluster", 2},
    {"DescribeProducers", 0},
    {"BrokerRegistration", 4},
    {"BrokerHeartbeat", 1},
    {"UnregisterBroker", 0},
    {"DescribeTransactions", 0},
    {"ListTransactions", 1},
    {"AllocateProducerIds", 0},
    {"ConsumerGroupHeartbeat", 1},
    {"ConsumerGroupDescribe", 1},
    {"ControllerRegistration", 0},
    {"GetTelemetrySubscriptions", 0},
    {"PushTelemetry", 0},
    {"AssignReplicasToDirs", 0},
    {"ListClientMetricsResources", 0},
    {"DescribeTopicPartitions", 0},
    {"ShareGroupHeartbeat", 1},
    {"ShareGroupDescribe", 1},
    {"ShareFetch", 1},
    {"ShareAcknowledge", 1},
    {"AddRaftVoter", 0},
    {"RemoveRaftVoter", 0},
    {"UpdateRaftVoter", 0},
    {"InitializeShareGroupState", 0},
    {"ReadShareGroupState", 0},
    {"WriteShareGroupState", 0},
    {"DeleteShareGroupState", 0},
    {"ReadShareGroupStateSummary", 0},
    {"StreamsGroupHeartbeat", 0},
    {"StreamsGroupDescribe", 0},
    {"DescribeShareGroupOffsets", 0},
    {"AlterShareGroupOffsets", 0},
    {"DeleteShareGroupOffsets", 0},
}};

// Versions a broker newer than this table may add before we stop trusting
// a header as Kafka.
constexpr int16_t kVersionAllowance = 3;

}  // namespace

std::string_view apiName(int16_t api_key) noexcept {
  if (api_key < 0 || static_cast<size_t>(api_key) >= kApis.size()) return {};
  return kApis[static_cast<size_t>(api_key)].name;
}

std::string requestTypeName(int16_t api_key) {
  const std::string_view name = apiName(api_key);
  return name.empty() ? std::to_string(api_key) : std::string(name);
}

int16_t apiMaxVersion(int16_t api_key) noexcept {
  if (api_key < 0 || static_cast<size_t>(api_key) >= kApis.size()) return -1;
  return kApis[static_cast<size_t>(api_key)].max_version;
}

bool plausibleApiVersion(int16_t api_key, int16_t api_version) noexcept {
  const int16_t max = apiMaxVersion(api_key);
  return max >= 0 && api_version >= 0 && api_version <= max + kVersionAllowance;
}

bool isFlexible(int16_t api_key, int16_t api_version) noexcept {
  switch (api_key) {
    case api::kProduce: return api_version >= 9;
    case api::kFetch: return api_version >= 12;
    case api::kJoinGroup: return api_version >= 6;
    case api::kLeaveGroup: return api_version >= 4;
    case api::kSyncGroup: return api_version >= 4;
    case api::kApiVersions: return api_version >= 3;
    // The APIs whose error codes are read (kafka_error_codes.cc), KIP-482.
    case 2: return api_version >= 6;   // ListOffsets
    case 3: return api_version >= 9;   // Metadata
    case 8: return api_version >= 8;   // OffsetCommit
    case 9: return api_version >= 6;   // OffsetFetch
    case 10: return api_version >= 3;  // FindCoordinator
    case 12: return api_version >= 4;  // Heartbeat
    case 15: return api_version >= 5;  // DescribeGroups
    case 16: return api_version >= 3;  // ListGroups
    case 19: return api_version >= 5;  // CreateTopics
    case 20: return api_version >= 4;  // DeleteTopics
    case 22: return api_version >= 2;  // InitProducerId
    case 25: return api_version >= 3;  // AddOffsetsToTxn
    case 26: return api_version >= 3;  // EndTxn
    case 36: return api_version >= 2;  // SaslAuthenticate
    default: return false;
  }
}

bool requestHeaderHasClientId(int16_t api_key, int16_t api_version) noexcept {
  return !(api_key == api::kControlledShutdown && api_version == 0);
}

bool responseHeaderHasTags(int16_t api_key, int16_t api_version) noexcept {
  return api_key != api::kApiVersions && isFlexible(api_key, api_version);
}

}  // namespace l7::kafka
