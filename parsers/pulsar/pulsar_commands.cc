#include "pulsar/pulsar_commands.h"

#include <array>

namespace l7::pulsar {
namespace {

constexpr uint32_t bits(std::initializer_list<int> fields) {
  uint32_t m = 0;
  for (int f : fields) m |= 1u << f;
  return m;
}

using K = Kind;
using P = Pairing;
using O = Owner;

// One row per type. Request, response and one-way: the mapping table's
// one-way list and deepflow-reference.md §7.3; required fields: the schema.
constexpr CommandSpec kSpecs[] = {
    // type name kind pairing request_id topic owner owner_id learns error message message_id req_varints req_bytes
    {2, "CONNECT", K::kRequest, P::kConnect, 0, 0, O::kNone, 0, false, 0, 0, 0, 0, bits({1})},
    {3, "CONNECTED", K::kResponse, P::kConnect, 0, 0, O::kNone, 0, false, 0, 0, 0, 0, bits({1})},
    {4, "SUBSCRIBE", K::kRequest, P::kRequestId, 5, 1, O::kConsumer, 4, true, 0, 0, 0, bits({3, 4, 5}), bits({1, 2})},
    {5, "PRODUCER", K::kRequest, P::kRequestId, 3, 1, O::kProducer, 2, true, 0, 0, 0, bits({2, 3}), bits({1})},
    {6, "SEND", K::kRequest, P::kSend, 0, 0, O::kProducer, 1, false, 0, 0, 9, bits({1, 2}), 0},
    {7, "SEND_RECEIPT", K::kResponse, P::kSend, 0, 0, O::kProducer, 1, false, 0, 0, 3, bits({1, 2}), 0},
    {8, "SEND_ERROR", K::kResponse, P::kSend, 0, 0, O::kProducer, 1, false, 3, 4, 0, bits({1, 2, 3}), bits({4})},
    {9, "MESSAGE", K::kOneWay, P::kNone, 0, 0, O::kConsumer, 1, false, 0, 0, 2, bits({1}), bits({2})},
    {10, "ACK", K::kOneWay, P::kNone, 8, 0, O::kConsumer, 1, false, 0, 0, 3, bits({1, 2}), 0},
    {11, "FLOW", K::kOneWay, P::kNone, 0, 0, O::kConsumer, 1, false, 0, 0, 0, bits({1, 2}), 0},
    {12, "UNSUBSCRIBE", K::kRequest, P::kRequestId, 2, 0, O::kConsumer, 1, false, 0, 0, 0, bits({1, 2}), 0},
    {13, "SUCCESS", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), 0},
    {14, "ERROR", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 2, 3, 0, bits({1, 2}), bits({3})},
    {15, "CLOSE_PRODUCER", K::kRequest, P::kRequestId, 2, 0, O::kProducer, 1, false, 0, 0, 0, bits({1, 2}), 0},
    {16, "CLOSE_CONSUMER", K::kRequest, P::kRequestId, 2, 0, O::kConsumer, 1, false, 0, 0, 0, bits({1, 2}), 0},
    {17, "PRODUCER_SUCCESS", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), bits({2})},
    {18, "PING", K::kRequest, P::kPing, 0, 0, O::kNone, 0, false, 0, 0, 0, 0, 0},
    {19, "PONG", K::kResponse, P::kPing, 0, 0, O::kNone, 0, false, 0, 0, 0, 0, 0},
    {20, "REDELIVER_UNACKNOWLEDGED_MESSAGES", K::kOneWay, P::kNone, 0, 0, O::kConsumer, 1, false, 0, 0, 0, bits({1}), 0},
    {21, "PARTITIONED_METADATA", K::kRequest, P::kRequestId, 2, 1, O::kNone, 0, false, 0, 0, 0, bits({2}), bits({1})},
    {22, "PARTITIONED_METADATA_RESPONSE", K::kResponse, P::kRequestId, 2, 0, O::kNone, 0, false, 4, 5, 0, bits({2}), 0},
    {23, "LOOKUP", K::kRequest, P::kRequestId, 2, 1, O::kNone, 0, false, 0, 0, 0, bits({2}), bits({1})},
    {24, "LOOKUP_RESPONSE", K::kResponse, P::kRequestId, 4, 0, O::kNone, 0, false, 6, 7, 0, bits({4}), 0},
    {25, "CONSUMER_STATS", K::kRequest, P::kRequestId, 1, 0, O::kConsumer, 4, false, 0, 0, 0, bits({1, 4}), 0},
    {26, "CONSUMER_STATS_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 2, 3, 0, bits({1}), 0},
    {27, "REACHED_END_OF_TOPIC", K::kOneWay, P::kNone, 0, 0, O::kConsumer, 1, false, 0, 0, 0, bits({1}), 0},
    {28, "SEEK", K::kRequest, P::kRequestId, 2, 0, O::kConsumer, 1, false, 0, 0, 0, bits({1, 2}), 0},
    {29, "GET_LAST_MESSAGE_ID", K::kRequest, P::kRequestId, 2, 0, O::kConsumer, 1, false, 0, 0, 0, bits({1, 2}), 0},
    {30, "GET_LAST_MESSAGE_ID_RESPONSE", K::kResponse, P::kRequestId, 2, 0, O::kNone, 0, false, 0, 0, 0, bits({2}), bits({1})},
    {31, "ACTIVE_CONSUMER_CHANGE", K::kOneWay, P::kNone, 0, 0, O::kConsumer, 1, false, 0, 0, 0, bits({1}), 0},
    {32, "GET_TOPICS_OF_NAMESPACE", K::kRequest, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), bits({2})},
    {33, "GET_TOPICS_OF_NAMESPACE_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), 0},
    {34, "GET_SCHEMA", K::kRequest, P::kRequestId, 1, 2, O::kNone, 0, false, 0, 0, 0, bits({1}), bits({2})},
    {35, "GET_SCHEMA_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 2, 3, 0, bits({1}), 0},
    {36, "AUTH_CHALLENGE", K::kRequest, P::kAuth, 0, 0, O::kNone, 0, false, 0, 0, 0, 0, 0},
    {37, "AUTH_RESPONSE", K::kResponse, P::kAuth, 0, 0, O::kNone, 0, false, 0, 0, 0, 0, 0},
    {38, "ACK_RESPONSE", K::kOneWay, P::kNone, 6, 0, O::kConsumer, 1, false, 4, 5, 0, bits({1}), 0},
    {39, "GET_OR_CREATE_SCHEMA", K::kRequest, P::kRequestId, 1, 2, O::kNone, 0, false, 0, 0, 0, bits({1}), bits({2, 3})},
    {40, "GET_OR_CREATE_SCHEMA_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 2, 3, 0, bits({1}), 0},
    {50, "NEW_TXN", K::kRequest, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), 0},
    {51, "NEW_TXN_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 4, 5, 0, bits({1}), 0},
    {52, "ADD_PARTITION_TO_TXN", K::kRequest, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), 0},
    {53, "ADD_PARTITION_TO_TXN_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 4, 5, 0, bits({1}), 0},
    {54, "ADD_SUBSCRIPTION_TO_TXN", K::kRequest, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), 0},
    {55, "ADD_SUBSCRIPTION_TO_TXN_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 4, 5, 0, bits({1}), 0},
    {56, "END_TXN", K::kRequest, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), 0},
    {57, "END_TXN_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 4, 5, 0, bits({1}), 0},
    {58, "END_TXN_ON_PARTITION", K::kRequest, P::kRequestId, 1, 4, O::kNone, 0, false, 0, 0, 0, bits({1}), 0},
    {59, "END_TXN_ON_PARTITION_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 4, 5, 0, bits({1}), 0},
    {60, "END_TXN_ON_SUBSCRIPTION", K::kRequest, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), 0},
    {61, "END_TXN_ON_SUBSCRIPTION_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 4, 5, 0, bits({1}), 0},
    {62, "TC_CLIENT_CONNECT_REQUEST", K::kRequest, P::kRequestId, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1, 2}), 0},
    {63, "TC_CLIENT_CONNECT_RESPONSE", K::kResponse, P::kRequestId, 1, 0, O::kNone, 0, false, 2, 3, 0, bits({1}), 0},
    {64, "WATCH_TOPIC_LIST", K::kOneWay, P::kNone, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1, 2}), bits({3, 4})},
    {65, "WATCH_TOPIC_LIST_SUCCESS", K::kOneWay, P::kNone, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1, 2}), bits({4})},
    {66, "WATCH_TOPIC_UPDATE", K::kOneWay, P::kNone, 0, 0, O::kNone, 0, false, 0, 0, 0, bits({1}), bits({4})},
    {67, "WATCH_TOPIC_LIST_CLOSE", K::kOneWay, P::kNone, 1, 0, O::kNone, 0, false, 0, 0, 0, bits({1, 2}), 0},
    {68, "TOPIC_MIGRATED", K::kOneWay, P::kNone, 0, 0, O::kByResourceType, 1, false, 0, 0, 0, bits({1, 2}), 0},
};

constexpr size_t kMaxType = 68;

constexpr std::array<int8_t, kMaxType + 1> makeIndex() {
  std::array<int8_t, kMaxType + 1> index{};
  for (auto& i : index) i = -1;
  for (size_t i = 0; i < std::size(kSpecs); ++i) index[kSpecs[i].type] = static_cast<int8_t>(i);
  return index;
}
constexpr auto kIndex = makeIndex();

constexpr std::string_view kServerErrors[] = {
    "UnknownError", "MetadataError", "PersistenceError", "AuthenticationError", "AuthorizationError",
    "ConsumerBusy", "ServiceNotReady", "ProducerBlockedQuotaExceededError", "ProducerBlockedQuotaExceededException",
    "ChecksumError", "UnsupportedVersionError", "TopicNotFound", "SubscriptionNotFound", "ConsumerNotFound",
    "TooManyRequests", "TopicTerminatedError", "ProducerBusy", "InvalidTopicName", "IncompatibleSchema",
    "ConsumerAssignError", "TransactionCoordinatorNotFound", "InvalidTxnStatus", "NotAllowedError",
    "TransactionConflict", "TransactionNotFound", "ProducerFenced",
};

}  // namespace

const CommandSpec* findCommand(uint64_t type) noexcept {
  if (type > kMaxType || kIndex[type] < 0) return nullptr;
  return &kSpecs[kIndex[type]];
}

std::string commandName(uint64_t type) {
  if (const CommandSpec* s = findCommand(type)) return std::string(s->name);
  return "TYPE_" + std::to_string(type);
}

std::string_view serverErrorName(uint64_t code) noexcept {
  return code < std::size(kServerErrors) ? kServerErrors[code] : std::string_view();
}

}  // namespace l7::pulsar
