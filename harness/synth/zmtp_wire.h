// ZMTP wire pieces built from ZeroMQ RFC 23 (greeting §4, frames §5.1,
// commands §5.2, metadata §5.3) and RFC 37 (3.1). Used by the synthesizer,
// the unit tests and the benchmarks; it shares nothing with the decoder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace l7h::synth::zmtpwire {

inline std::string bigEndian(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

// Flags MORE (1), COMMAND (4); LONG (2) and an 8-octet size above 255.
inline std::string frame(bool more, bool command, const std::string& body) {
  const bool long_size = body.size() > 255;
  std::string out(1, static_cast<char>((more ? 1 : 0) | (command ? 4 : 0) | (long_size ? 2 : 0)));
  out.append(bigEndian(body.size(), long_size ? 8 : 1));
  out.append(body);
  return out;
}

// A 1-octet size, then the bytes.
inline std::string shortString(const std::string& s) {
  std::string out(1, static_cast<char>(s.size()));
  out.append(s);
  return out;
}

inline std::string commandBody(const std::string& name, const std::string& data) { return shortString(name) + data; }
inline std::string command(const std::string& name, const std::string& data) {
  return frame(false, true, commandBody(name, data));
}

// A metadata property: the name's 1-octet size, the value's 4-octet size.
inline std::string property(const std::string& name, const std::string& value) {
  return shortString(name) + bigEndian(value.size(), 4) + value;
}

// A message of one or more parts: MORE on all but the last.
inline std::string message(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += frame(i + 1 < parts.size(), false, parts[i]);
  return out;
}

// The 64-octet 3.x greeting: signature (libzmq's padding), version,
// mechanism (null-padded to 20), as-server, filler.
inline std::string greeting(uint8_t minor, const std::string& mechanism, bool as_server) {
  std::string g("\xFF\0\0\0\0\0\0\0\x01\x7F\x03", 11);
  g.push_back(static_cast<char>(minor));
  g += mechanism + std::string(20 - mechanism.size(), '\0');
  g.push_back(as_server ? '\x01' : '\0');
  g += std::string(31, '\0');
  return g;
}

}  // namespace l7h::synth::zmtpwire
