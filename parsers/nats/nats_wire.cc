#include "nats/nats_wire.h"

#include <cctype>

namespace l7::nats {
namespace {

struct OpName {
  std::string_view text;
  Op op;
};
constexpr OpName kOps[] = {
    {"INFO", Op::kInfo}, {"CONNECT", Op::kConnect}, {"PUB", Op::kPub},   {"HPUB", Op::kHpub},
    {"SUB", Op::kSub},   {"UNSUB", Op::kUnsub},     {"MSG", Op::kMsg},   {"HMSG", Op::kHmsg},
    {"PING", Op::kPing}, {"PONG", Op::kPong},       {"+OK", Op::kOk},    {"-ERR", Op::kErr},
};

bool isSeparator(char c) { return c == ' ' || c == '\t'; }

bool equalsUpper(std::string_view token, std::string_view upper) {
  if (token.size() != upper.size()) return false;
  for (size_t i = 0; i < token.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(token[i])) != upper[i]) return false;
  }
  return true;
}

// Subjects are non-empty and free of separators and control bytes.
bool validSubject(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string_view opName(Op op) {
  switch (op) {
    case Op::kInfo: return "INFO";
    case Op::kConnect: return "CONNECT";
    case Op::kPub: return "PUB";
    case Op::kHpub: return "HPUB";
    case Op::kSub: return "SUB";
    case Op::kUnsub: return "UNSUB";
    case Op::kMsg: return "MSG";
    case Op::kHmsg: return "HMSG";
    case Op::kPing: return "PING";
    case Op::kPong: return "PONG";
    case Op::kOk: return "OK";
    case Op::kErr: return "ERR";
  }
  return "";
}

std::optional<Op> parseOp(std::string_view token) {
  for (const OpName& o : kOps) {
    if (equalsUpper(token, o.text)) return o.op;
  }
  return std::nullopt;
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && isSeparator(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSeparator(s.back())) s.remove_suffix(1);
  return s;
}

bool parseSize(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

LineError parseControlLine(std::string_view line, ControlLine& out) {
  size_t i = 0;
  while (i < line.size() && !isSeparator(line[i])) ++i;
  const auto op = parseOp(line.substr(0, i));
  if (!op) return LineError::kUnknownOp;
  out = ControlLine{};
  out.op = *op;
  out.rest = trimSpaces(line.substr(i));
  switch (*op) {
    case Op::kPing:
    case Op::kPong:
    case Op::kOk:
      // Nothing may follow these operations but trailing separators.
      return out.rest.empty() ? LineError::kNone : LineError::kBadArguments;
    case Op::kInfo:
    case Op::kConnect:
      return out.rest.empty() ? LineError::kBadArguments : LineError::kNone;
    case Op::kErr:
      return LineError::kNone;
    default:
      break;
  }
  std::string_view rest = out.rest;
  while (!rest.empty()) {
    size_t j = 0;
    while (j < rest.size() && !isSeparator(rest[j])) ++j;
    if (out.arg_count == out.args.size()) return LineError::kBadArguments;
    out.args[out.arg_count++] = rest.substr(0, j);
    rest = trimSpaces(rest.substr(j));
  }
  // Argument counts per operation.
  auto between = [&](size_t lo, size_t hi) { return out.arg_count >= lo && out.arg_count <= hi; };
  bool ok = false;
  switch (*op) {
    case Op::kPub: ok = between(2, 3); break;
    case Op::kHpub: ok = between(3, 4); break;
    case Op::kSub: ok = between(2, 3); break;
    case Op::kUnsub: ok = between(1, 2); break;
    case Op::kMsg: ok = between(3, 4); break;
    case Op::kHmsg: ok = between(4, 5); break;
    default: ok = true; break;
  }
  if (!ok) return LineError::kBadArguments;
  if ((*op == Op::kPub || *op == Op::kHpub || *op == Op::kSub || *op == Op::kMsg || *op == Op::kHmsg) &&
      !validSubject(out.args[0]))
    return LineError::kBadArguments;
  if (*op == Op::kUnsub && out.arg_count == 2) {
    // UNSUB sid [max_msgs]: sids are opaque tokens, max_msgs a number.
    uint64_t n = 0;
    if (!parseSize(out.args[1], n)) return LineError::kBadArguments;
  }
  MessageArgs m;
  if ((*op == Op::kPub || *op == Op::kHpub || *op == Op::kMsg || *op == Op::kHmsg) && !messageArgs(out, m))
    return LineError::kBadArguments;
  return LineError::kNone;
}

bool messageArgs(const ControlLine& line, MessageArgs& out) {
  out = MessageArgs{};
  const size_t n = line.arg_count;
  out.subject = line.args[0];
  switch (line.op) {
    case Op::kPub:  // PUB subject [reply] bytes
      if (n == 3) out.reply = line.args[1];
      return parseSize(line.args[n - 1], out.total_bytes);
    case Op::kHpub:  // HPUB subject [reply] header_bytes total_bytes
      if (n == 4) out.reply = line.args[1];
      return parseSize(line.args[n - 2], out.header_bytes) && parseSize(line.args[n - 1], out.total_bytes) &&
             out.header_bytes <= out.total_bytes;
    case Op::kMsg:  // MSG subject sid [reply] bytes
      if (n == 4) out.reply = line.args[2];
      return parseSize(line.args[n - 1], out.total_bytes);
    case Op::kHmsg:  // HMSG subject sid [reply] header_bytes total_bytes
      if (n == 5) out.reply = line.args[2];
      return parseSize(line.args[n - 2], out.header_bytes) && parseSize(line.args[n - 1], out.total_bytes) &&
             out.header_bytes <= out.total_bytes;
    default:
      return false;
  }
}

}  // namespace l7::nats
