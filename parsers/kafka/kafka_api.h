// Kafka API keys: names (request_type) and the version ranges the probe and
// the resynchronizer accept. Source: the ApiKeys list of the Kafka protocol
// guide (https://kafka.apache.org/protocol#protocol_api_keys) up to Kafka 4.1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace l7::kafka {

namespace api {
constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;
constexpr int16_t kControlledShutdown = 7;
constexpr int16_t kJoinGroup = 11;
constexpr int16_t kLeaveGroup = 13;
constexpr int16_t kSyncGroup = 14;
constexpr int16_t kApiVersions = 18;
}  // namespace api

// The name Kafka gives the key ("Produce", "ApiVersions"); empty if unknown.
std::string_view apiName(int16_t api_key) noexcept;
// request_type: the name, or the key as a decimal number when unknown.
std::string requestTypeName(int16_t api_key);
// Highest version a released Kafka defines for the key, -1 when unknown.
int16_t apiMaxVersion(int16_t api_key) noexcept;
// Whether (key, version) is something a real client could send: known key,
// version within the released range plus a small allowance for newer brokers.
bool plausibleApiVersion(int16_t api_key, int16_t api_version) noexcept;

// Header versions. Only the APIs whose bodies are decoded or whose error
// codes are read need them (for the others the decoder stops after
// correlation_id / client_id), so only those are listed; the rest answer
// "not flexible".
bool isFlexible(int16_t api_key, int16_t api_version) noexcept;
// Request header v0 (no client_id): ControlledShutdown v0 only.
bool requestHeaderHasClientId(int16_t api_key, int16_t api_version) noexcept;
// Response header v1 (tagged fields) for flexible versions, except that
// ApiVersions responses always use header v0 (KIP-511).
bool responseHeaderHasTags(int16_t api_key, int16_t api_version) noexcept;

}  // namespace l7::kafka
