// The classic group protocol (JoinGroup 11 v0-9, LeaveGroup 13 v0-5,
// SyncGroup 14 v0-5) and ApiVersions (18 v0-4).
//   JoinGroup req:  group_id session_timeout_ms [rebalance_timeout_ms v1+] member_id
//                   [group_instance_id v5+] protocol_type protocols[ name metadata ] [reason v8+]
//   JoinGroup resp: [throttle v2+] error_code generation_id [protocol_type v7+] protocol_name
//                   leader [skip_assignment v9+] member_id
//                   members[ member_id [group_instance_id v5+] metadata ]
//   LeaveGroup req: group_id, member_id (v0-2) | members[ member_id group_instance_id [reason v5+] ] (v3+)
//   LeaveGroup resp:[throttle v1+] error_code [members[ member_id group_instance_id error_code ] v3+]
//   SyncGroup req:  group_id generation_id member_id [group_instance_id v3+]
//                   [protocol_type protocol_name v5+] assignments[ member_id assignment ]
//   SyncGroup resp: [throttle v1+] error_code [protocol_type protocol_name v5+] assignment
//   ApiVersions req (v3+): client_software_name client_software_version
//   ApiVersions resp: error_code api_keys[ api_key min_version max_version ] [throttle v1+]
// Flexible: JoinGroup v6+, LeaveGroup v4+, SyncGroup v4+, ApiVersions v3+.
#include "kafka/kafka_api.h"
#include "kafka/kafka_bodies.h"

namespace l7::kafka {
namespace {

WireError joinGroupRequest(KafkaReader& r, int16_t v, RequestInfo& out) {
  std::string_view s;
  int32_t i32 = 0;
  Bytes b;
  if (!r.string(s)) return r.error();
  out.group_id.assign(s);
  if (!r.i32(i32)) return r.error();             // session_timeout_ms
  if (v >= 1 && !r.i32(i32)) return r.error();   // rebalance_timeout_ms
  if (!r.string(s)) return r.error();            // member_id
  if (v >= 5 && !r.string(s)) return r.error();  // group_instance_id
  if (!r.string(s)) return r.error();            // protocol_type
  uint32_t protocols = 0;
  if (!r.arrayCount(protocols)) return r.error();
  for (uint32_t i = 0; i < protocols; ++i) {
    if (!r.string(s) || !r.bytes(b) || !r.tags()) return r.error();
  }
  if (v >= 8 && !r.string(s)) return r.error();  // reason
  r.tags();
  return finishBody(r);
}

WireError joinGroupResponse(KafkaReader& r, int16_t v, ResponseInfo& out) {
  std::string_view s;
  int32_t i32 = 0;
  int16_t code = 0;
  int8_t flag = 0;
  Bytes b;
  if (v >= 2 && !r.i32(i32)) return r.error();
  if (!r.i16(code)) return r.error();
  out.error_code = code;
  if (!r.i32(i32)) return r.error();             // generation_id
  if (v >= 7 && !r.string(s)) return r.error();  // protocol_type
  if (!r.string(s) || !r.string(s)) return r.error();  // protocol_name, leader
  if (v >= 9 && !r.i8(flag)) return r.error();   // skip_assignment
  if (!r.string(s)) return r.error();            // member_id
  uint32_t members = 0;
  if (!r.arrayCount(members)) return r.error();
  for (uint32_t i = 0; i < members; ++i) {
    if (!r.string(s)) return r.error();
    if (v >= 5 && !r.string(s)) return r.error();
    if (!r.bytes(b) || !r.tags()) return r.error();
  }
  r.tags();
  return finishBody(r);
}

WireError leaveGroupRequest(KafkaReader& r, int16_t v, RequestInfo& out) {
  std::string_view s;
  if (!r.string(s)) return r.error();
  out.group_id.assign(s);
  if (v <= 2) {
    if (!r.string(s)) return r.error();  // member_id
  } else {
    uint32_t members = 0;
    if (!r.arrayCount(members)) return r.error();
    for (uint32_t i = 0; i < members; ++i) {
      if (!r.string(s) || !r.string(s)) return r.error();  // member_id, group_instance_id
      if (v >= 5 && !r.string(s)) return r.error();        // reason
      if (!r.tags()) return r.error();
    }
  }
  r.tags();
  return finishBody(r);
}

WireError leaveGroupResponse(KafkaReader& r, int16_t v, ResponseInfo& out) {
  std::string_view s;
  int32_t i32 = 0;
  int16_t code = 0;
  if (v >= 1 && !r.i32(i32)) return r.error();
  if (!r.i16(code)) return r.error();
  out.error_code = code;
  if (v >= 3) {
    uint32_t members = 0;
    if (!r.arrayCount(members)) return r.error();
    for (uint32_t i = 0; i < members; ++i) {
      int16_t member_code = 0;
      if (!r.string(s) || !r.string(s) || !r.i16(member_code) || !r.tags()) return r.error();
    }
  }
  r.tags();
  return finishBody(r);
}

WireError syncGroupRequest(KafkaReader& r, int16_t v, RequestInfo& out) {
  std::string_view s;
  int32_t i32 = 0;
  Bytes b;
  if (!r.string(s)) return r.error();
  out.group_id.assign(s);
  if (!r.i32(i32) || !r.string(s)) return r.error();  // generation_id, member_id
  if (v >= 3 && !r.string(s)) return r.error();       // group_instance_id
  if (v >= 5 && (!r.string(s) || !r.string(s))) return r.error();  // protocol_type, protocol_name
  uint32_t assignments = 0;
  if (!r.arrayCount(assignments)) return r.error();
  for (uint32_t i = 0; i < assignments; ++i) {
    if (!r.string(s) || !r.bytes(b) || !r.tags()) return r.error();
  }
  r.tags();
  return finishBody(r);
}

WireError syncGroupResponse(KafkaReader& r, int16_t v, ResponseInfo& out) {
  std::string_view s;
  int32_t i32 = 0;
  int16_t code = 0;
  Bytes b;
  if (v >= 1 && !r.i32(i32)) return r.error();
  if (!r.i16(code)) return r.error();
  out.error_code = code;
  if (v >= 5 && (!r.string(s) || !r.string(s))) return r.error();
  if (!r.bytes(b)) return r.error();
  r.tags();
  return finishBody(r);
}

}  // namespace

WireError decodeGroupRequest(KafkaReader& r, int16_t api_key, const BodyOptions& o, RequestInfo& out) {
  switch (api_key) {
    case api::kJoinGroup: return joinGroupRequest(r, o.api_version, out);
    case api::kLeaveGroup: return leaveGroupRequest(r, o.api_version, out);
    case api::kSyncGroup: return syncGroupRequest(r, o.api_version, out);
    default: return WireError::kNone;
  }
}

WireError decodeGroupResponse(KafkaReader& r, int16_t api_key, const BodyOptions& o, ResponseInfo& out) {
  switch (api_key) {
    case api::kJoinGroup: return joinGroupResponse(r, o.api_version, out);
    case api::kLeaveGroup: return leaveGroupResponse(r, o.api_version, out);
    case api::kSyncGroup: return syncGroupResponse(r, o.api_version, out);
    default: return WireError::kNone;
  }
}

WireError decodeApiVersionsRequest(KafkaReader& r, const BodyOptions& o) {
  if (o.api_version < 3) return finishBody(r);
  std::string_view name, version;
  if (!r.string(name) || !r.string(version)) return r.error();
  r.tags();
  return finishBody(r);
}

WireError decodeApiVersionsResponse(KafkaReader& r, const BodyOptions& o, ResponseInfo& out) {
  int16_t code = 0;
  if (!r.i16(code)) return r.error();
  out.error_code = code;
  // A broker that does not support the request's version answers in the v0
  // layout (KIP-511), so an error response is not checked against it.
  if (code != 0) return WireError::kNone;
  uint32_t keys = 0;
  if (!r.arrayCount(keys)) return r.error();
  for (uint32_t i = 0; i < keys; ++i) {
    int16_t key = 0, min = 0, max = 0;
    if (!r.i16(key) || !r.i16(min) || !r.i16(max) || !r.tags()) return r.error();
  }
  int32_t throttle = 0;
  if (o.api_version >= 1 && !r.i32(throttle)) return r.error();
  r.tags();
  return finishBody(r);
}

}  // namespace l7::kafka
