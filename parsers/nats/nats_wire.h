// NATS client protocol, wire level (https://docs.nats.io/reference/reference-protocols/nats-protocol):
// control lines, their arguments, and NATS/1.0 header blocks. Pure functions
// over spans; no state, no allocation beyond the small results.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "l7/byte_reader.h"

namespace l7::nats {

enum class Op : uint8_t { kInfo, kConnect, kPub, kHpub, kSub, kUnsub, kMsg, kHmsg, kPing, kPong, kOk, kErr };

std::string_view opName(Op op);  // request_type: INFO, CONNECT, ..., OK, ERR

// Matches the operation token at the start of a control line (case-insensitive).
std::optional<Op> parseOp(std::string_view token);

// A control line split into its operation and up to 6 argument tokens
// (spaces and tabs separate). For INFO/CONNECT/-ERR `rest` is everything
// after the operation (JSON or error text).
struct ControlLine {
  Op op;
  std::array<std::string_view, 6> args{};
  size_t arg_count = 0;
  std::string_view rest;
};

enum class LineError { kNone, kUnknownOp, kBadArguments };

// `line` excludes the CRLF.
LineError parseControlLine(std::string_view line, ControlLine& out);

// What a PUB/HPUB/MSG/HMSG line announces. Sizes are validated numbers.
struct MessageArgs {
  std::string_view subject;
  std::string_view reply;
  uint64_t header_bytes = 0;  // 0 for PUB/MSG
  uint64_t total_bytes = 0;   // payload bytes (headers included for HPUB/HMSG)
};
bool messageArgs(const ControlLine& line, MessageArgs& out);

// Strict non-negative decimal (no sign, no spaces), at most 18 digits.
bool parseSize(std::string_view s, uint64_t& out);

// Calls `on_header(name, value)` for each "Name: Value" line of a NATS/1.0
// header block (names and values trimmed). Returns false when the block is
// not a NATS header block (bad version line, missing final empty line).
template <typename F>
bool forEachHeader(std::string_view block, F&& on_header);

std::string_view trimSpaces(std::string_view s);

template <typename F>
bool forEachHeader(std::string_view block, F&& on_header) {
  if (block.substr(0, 5) != "NATS/") return false;
  if (block.size() < 4 || block.substr(block.size() - 4) != "\r\n\r\n") return false;
  size_t pos = block.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < block.size()) {
    const size_t start = pos + 2;
    const size_t end = block.find("\r\n", start);
    if (end == std::string_view::npos || end == start) break;
    const std::string_view line = block.substr(start, end - start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) on_header(trimSpaces(line.substr(0, colon)), trimSpaces(line.substr(colon + 1)));
    pos = end;
  }
  return true;
}

}  // namespace l7::nats
