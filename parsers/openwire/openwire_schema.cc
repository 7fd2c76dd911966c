#include "openwire/openwire_schema.h"

#include <array>

namespace l7::openwire {
namespace {

using K = FieldKind;
using R = FieldRole;

// BaseCommand's two fields, first in every command's list.
#define OW_BASE {K::kInt, R::kCommandId}, {K::kBool, R::kResponseRequired}

constexpr Field kDestination[] = {{K::kString, R::kPhysicalName}};
constexpr Field kOneString[] = {{K::kString}};
constexpr Field kSessionId[] = {{K::kString}, {K::kLong}};
constexpr Field kTwoLongIds[] = {{K::kString}, {K::kLong}, {K::kLong}};  // ConsumerId, ProducerId
constexpr Field kMessageId[] = {{K::kString, R::kNone, 10}, {K::kCached}, {K::kLong}, {K::kLong}};
constexpr Field kLocalTransactionId[] = {{K::kLong}, {K::kCached}};
constexpr Field kXaTransactionId[] = {{K::kInt}, {K::kByteArray}, {K::kByteArray}};

constexpr Field kWireFormatInfo[] = {{K::kMagic}, {K::kInt, R::kVersion}, {K::kByteArray, R::kProperties}};
constexpr Field kBrokerInfo[] = {OW_BASE,
                                 {K::kCached},
                                 {K::kString, R::kBrokerUrl},
                                 {K::kNestedArray},
                                 {K::kString},
                                 {K::kBool},
                                 {K::kBool},
                                 {K::kBool},
                                 {K::kBool, R::kNone, 2},
                                 {K::kBool, R::kNone, 2},
                                 {K::kLong, R::kNone, 2},
                                 {K::kString, R::kNone, 3},
                                 {K::kString, R::kNone, 3}};
constexpr Field kConnectionInfo[] = {OW_BASE,       {K::kCached},           {K::kString},
                                     {K::kString},  {K::kString},           {K::kNestedArray},
                                     {K::kBool},    {K::kBool},             {K::kBool, R::kNone, 2},
                                     {K::kBool, R::kNone, 6}, {K::kBool, R::kNone, 6}, {K::kString, R::kNone, 8}};
constexpr Field kSessionInfo[] = {OW_BASE, {K::kCached}};
constexpr Field kConsumerInfo[] = {OW_BASE,
                                   {K::kCached},
                                   {K::kBool},
                                   {K::kCached, R::kDestination},
                                   {K::kInt},
                                   {K::kInt},
                                   {K::kBool},
                                   {K::kString},
                                   {K::kString, R::kNone, 10},
                                   {K::kString},
                                   {K::kBool},
                                   {K::kBool},
                                   {K::kBool},
                                   {K::kByte},
                                   {K::kNestedArray},
                                   {K::kNested},
                                   {K::kBool},
                                   {K::kBool},
                                   {K::kBool},
                                   {K::kNestedArray, R::kNone, 4}};
constexpr Field kProducerInfo[] = {OW_BASE, {K::kCached}, {K::kCached, R::kDestination}, {K::kNestedArray},
                                   {K::kBool, R::kNone, 2}, {K::kInt, R::kNone, 3}};
constexpr Field kTransactionInfo[] = {OW_BASE, {K::kCached}, {K::kCached}, {K::kByte}};
constexpr Field kDestinationInfo[] = {OW_BASE,   {K::kCached}, {K::kCached, R::kDestination},
                                      {K::kByte}, {K::kLong},   {K::kNestedArray}};
constexpr Field kRemoveSubscriptionInfo[] = {OW_BASE, {K::kCached}, {K::kString}, {K::kString}};
constexpr Field kBaseOnly[] = {OW_BASE};
constexpr Field kRemoveInfo[] = {OW_BASE, {K::kCached}, {K::kLong, R::kNone, 5}};
constexpr Field kControlCommand[] = {OW_BASE, {K::kString}};
constexpr Field kConnectionError[] = {OW_BASE, {K::kThrowable, R::kException}, {K::kNested}};
constexpr Field kConsumerControl[] = {OW_BASE,
                                      {K::kNested, R::kDestination, 6},
                                      {K::kBool},
                                      {K::kNested},
                                      {K::kInt},
                                      {K::kBool, R::kNone, 2},
                                      {K::kBool, R::kNone, 2},
                                      {K::kBool, R::kNone, 2}};
constexpr Field kConnectionControl[] = {OW_BASE,    {K::kBool}, {K::kBool}, {K::kBool}, {K::kBool}, {K::kBool},
                                        {K::kString, R::kNone, 6}, {K::kString, R::kNone, 6},
                                        {K::kBool, R::kNone, 6},   {K::kByteArray, R::kNone, 6}};
constexpr Field kProducerAck[] = {OW_BASE, {K::kNested, R::kNone, 3}, {K::kInt, R::kNone, 3}};
constexpr Field kMessagePull[] = {OW_BASE,   {K::kCached}, {K::kCached, R::kDestination},
                                  {K::kLong}, {K::kString, R::kNone, 3}, {K::kNested, R::kNone, 4}};
constexpr Field kMessageDispatch[] = {OW_BASE, {K::kCached}, {K::kCached, R::kDestination}, {K::kNested, R::kMessage},
                                      {K::kInt}};
constexpr Field kMessageAck[] = {OW_BASE,    {K::kCached, R::kDestination}, {K::kCached}, {K::kCached},
                                 {K::kByte}, {K::kNested},  {K::kNested}, {K::kInt},
                                 {K::kThrowable, R::kException, 7}};

#define OW_MESSAGE                                                                                          \
  OW_BASE, {K::kCached}, {K::kCached, R::kDestination}, {K::kCached}, {K::kCached}, {K::kNested}, {K::kCached}, \
      {K::kString}, {K::kInt}, {K::kString, R::kJmsCorrelationId}, {K::kBool}, {K::kLong}, {K::kByte},          \
      {K::kNested}, {K::kLong}, {K::kString}, {K::kByteArray}, {K::kByteArray, R::kProperties}, {K::kNested},   \
      {K::kCached}, {K::kBool}, {K::kInt}, {K::kNestedArray}, {K::kLong}, {K::kString}, {K::kBool},             \
      {K::kBool, R::kNone, 2}, {K::kNestedArray, R::kNone, 3}, {K::kLong, R::kNone, 3}, {K::kLong, R::kNone, 3}, \
      {K::kBool, R::kNone, 10}
constexpr Field kMessage[] = {OW_MESSAGE};
constexpr Field kBlobMessage[] = {OW_MESSAGE, {K::kString, R::kNone, 3}, {K::kString, R::kNone, 3},
                                  {K::kBool, R::kNone, 3}};
#undef OW_MESSAGE

constexpr Field kResponse[] = {OW_BASE, {K::kInt, R::kCorrelationId}};
constexpr Field kExceptionResponse[] = {OW_BASE, {K::kInt, R::kCorrelationId}, {K::kThrowable, R::kException}};
constexpr Field kDataResponse[] = {OW_BASE, {K::kInt, R::kCorrelationId}, {K::kNested}};
constexpr Field kDataArrayResponse[] = {OW_BASE, {K::kInt, R::kCorrelationId}, {K::kNestedArray}};
constexpr Field kIntegerResponse[] = {OW_BASE, {K::kInt, R::kCorrelationId}, {K::kInt}};
constexpr Field kDiscoveryEvent[] = {{K::kString}, {K::kString}};
constexpr Field kJournalTopicAck[] = {{K::kNested}, {K::kNested}, {K::kLong}, {K::kString}, {K::kString}, {K::kNested}};
constexpr Field kJournalQueueAck[] = {{K::kNested}, {K::kNested}};
constexpr Field kJournalTransaction[] = {{K::kNested}, {K::kByte}, {K::kBool}};
constexpr Field kSubscriptionInfo[] = {{K::kString}, {K::kCached},           {K::kString},
                                       {K::kString}, {K::kNested, R::kNone, 3}, {K::kBool, R::kNone, 11}};
constexpr Field kPartialCommand[] = {{K::kInt, R::kCommandId}, {K::kByteArray}};
constexpr Field kReplayCommand[] = {OW_BASE, {K::kInt}, {K::kInt}};
constexpr Field kMessageDispatchNotification[] = {OW_BASE, {K::kCached}, {K::kCached, R::kDestination}, {K::kLong},
                                                  {K::kNested}};
// Versions 1 to 9: networkTTL, networkBrokerId; 10 on: networkBrokerId, messageTTL, consumerTTL.
constexpr Field kNetworkBridgeFilter[] = {{K::kInt, R::kNone, 1, 9},
                                          {K::kCached},
                                          {K::kInt, R::kNone, 10},
                                          {K::kInt, R::kNone, 10}};
#undef OW_BASE

using C = Category;

constexpr std::array<TypeInfo, 256> makeTable() {
  std::array<TypeInfo, 256> t{};
  t[1] = {"WireFormatInfo", C::kWireFormat, true, kWireFormatInfo};
  t[2] = {"BrokerInfo", C::kRequestLike, false, kBrokerInfo};
  t[3] = {"ConnectionInfo", C::kRequestLike, false, kConnectionInfo};
  t[4] = {"SessionInfo", C::kRequestLike, false, kSessionInfo};
  t[5] = {"ConsumerInfo", C::kRequestLike, false, kConsumerInfo};
  t[6] = {"ProducerInfo", C::kRequestLike, false, kProducerInfo};
  t[7] = {"TransactionInfo", C::kRequestLike, false, kTransactionInfo};
  t[8] = {"DestinationInfo", C::kRequestLike, false, kDestinationInfo};
  t[9] = {"RemoveSubscriptionInfo", C::kRequestLike, false, kRemoveSubscriptionInfo};
  t[10] = {"KeepAliveInfo", C::kRequestLike, false, kBaseOnly};
  t[11] = {"ShutdownInfo", C::kRequestLike, false, kBaseOnly};
  t[12] = {"RemoveInfo", C::kRequestLike, false, kRemoveInfo};
  t[14] = {"ControlCommand", C::kRequestLike, false, kControlCommand};
  t[15] = {"FlushCommand", C::kRequestLike, false, kBaseOnly};
  t[16] = {"ConnectionError", C::kRequestLike, false, kConnectionError};
  t[17] = {"ConsumerControl", C::kRequestLike, false, kConsumerControl};
  t[18] = {"ConnectionControl", C::kRequestLike, false, kConnectionControl};
  t[19] = {"ProducerAck", C::kRequestLike, false, kProducerAck};
  t[20] = {"MessagePull", C::kRequestLike, false, kMessagePull};
  t[21] = {"MessageDispatch", C::kRequestLike, false, kMessageDispatch};
  t[22] = {"MessageAck", C::kRequestLike, false, kMessageAck};
  t[23] = {"ActiveMQMessage", C::kRequestLike, true, kMessage};
  t[24] = {"ActiveMQBytesMessage", C::kRequestLike, true, kMessage};
  t[25] = {"ActiveMQMapMessage", C::kRequestLike, true, kMessage};
  t[26] = {"ActiveMQObjectMessage", C::kRequestLike, true, kMessage};
  t[27] = {"ActiveMQStreamMessage", C::kRequestLike, true, kMessage};
  t[28] = {"ActiveMQTextMessage", C::kRequestLike, true, kMessage};
  t[29] = {"ActiveMQBlobMessage", C::kRequestLike, true, kBlobMessage};
  t[30] = {"Response", C::kResponse, false, kResponse};
  t[31] = {"ExceptionResponse", C::kResponse, false, kExceptionResponse};
  t[32] = {"DataResponse", C::kResponse, false, kDataResponse};
  t[33] = {"DataArrayResponse", C::kResponse, false, kDataArrayResponse};
  t[34] = {"IntegerResponse", C::kResponse, false, kIntegerResponse};
  t[40] = {"DiscoveryEvent", C::kRequestLike, false, kDiscoveryEvent};
  t[50] = {"JournalTopicAck", C::kNotACommand, false, kJournalTopicAck};
  t[52] = {"JournalQueueAck", C::kNotACommand, false, kJournalQueueAck};
  t[53] = {"JournalTrace", C::kNotACommand, false, kOneString};
  t[54] = {"JournalTransaction", C::kNotACommand, false, kJournalTransaction};
  t[55] = {"DurableSubscriptionInfo", C::kNotACommand, false, kSubscriptionInfo};
  t[60] = {"PartialCommand", C::kRequestLike, false, kPartialCommand};
  t[61] = {"PartialLastCommand", C::kRequestLike, false, kPartialCommand};
  t[65] = {"Replay", C::kRequestLike, false, kReplayCommand};
  t[90] = {"MessageDispatchNotification", C::kRequestLike, false, kMessageDispatchNotification};
  t[91] = {"NetworkBridgeFilter", C::kNotACommand, false, kNetworkBridgeFilter};
  t[100] = {"ActiveMQQueue", C::kNotACommand, false, kDestination};
  t[101] = {"ActiveMQTopic", C::kNotACommand, false, kDestination};
  t[102] = {"ActiveMQTempQueue", C::kNotACommand, false, kDestination};
  t[103] = {"ActiveMQTempTopic", C::kNotACommand, false, kDestination};
  t[110] = {"MessageId", C::kNotACommand, false, kMessageId};
  t[111] = {"LocalTransactionId", C::kNotACommand, false, kLocalTransactionId};
  t[112] = {"XATransactionId", C::kNotACommand, false, kXaTransactionId};
  t[120] = {"ConnectionId", C::kNotACommand, false, kOneString};
  t[121] = {"SessionId", C::kNotACommand, false, kSessionId};
  t[122] = {"ConsumerId", C::kNotACommand, false, kTwoLongIds};
  t[123] = {"ProducerId", C::kNotACommand, false, kTwoLongIds};
  t[124] = {"BrokerId", C::kNotACommand, false, kOneString};
  return t;
}

constexpr std::array<TypeInfo, 256> kTable = makeTable();

}  // namespace

const TypeInfo& typeInfo(uint8_t type) noexcept { return kTable[type]; }

}  // namespace l7::openwire
