// ZMTP (ZeroMQ) 3.0 and 3.1 decoder, with 2.0 and 1.0 peers recognized
// (see README.md beside this file).
#pragma once

#include "l7/decoder.h"

namespace l7::zmtp {

const DecoderInfo& zmtpDecoderInfo();

// Exposed for tests: a side that opens with the ZMTP signature is ZMTP, and
// both sides open alike, so the session names the client.
ProbeVerdict probeZmtp(Bytes first_bytes) noexcept;

// Caps beyond DecoderLimits (README.md, "Caps").
inline constexpr uint32_t kMaxParts = 10000;            // frames of one multipart message
inline constexpr uint32_t kMaxCommandBytes = 64 * 1024;  // a command's body (READY/INITIATE metadata among them)
inline constexpr uint32_t kMaxTopicBytes = 4096;         // subscription shown in a record

}  // namespace l7::zmtp
