#include "pulsar/pulsar_proto.h"

namespace l7::pulsar::pb {

bool readVarint(ByteReader& r, uint64_t& v) noexcept {
  const Bytes rest = r.rest();
  uint64_t result = 0;
  for (size_t i = 0; i < 10 && i < rest.size(); ++i) {
    const uint8_t b = rest[i];
    if (i == 9 && b > 1) return false;  // bits past 64
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      r.skip(i + 1);
      v = result;
      return true;
    }
  }
  return false;  // cut, or longer than 10 bytes
}

bool Reader::next(Field& f) noexcept {
  if (failed() || r_.empty()) return false;
  const size_t start = r_.position();
  auto fail = [&](std::string_view why) {
    error_ = why;
    ByteReader back(r_.whole());
    back.skip(start);
    r_ = back;
    return false;
  };
  uint64_t tag = 0;
  if (!readVarint(r_, tag)) return fail("protobuf: bad field tag varint");
  const uint64_t number = tag >> 3;
  if (number == 0 || number > 0x1FFFFFFF) return fail("protobuf: field number out of range");
  f.number = static_cast<uint32_t>(number);
  f.wire = static_cast<WireType>(tag & 7);
  f.varint = 0;
  f.bytes = {};
  switch (tag & 7) {
    case kVarint:
      if (!readVarint(r_, f.varint)) return fail("protobuf: varint overflows or is cut");
      return true;
    case kFixed64:
      if (!r_.u64le(f.varint)) return fail("protobuf: fixed64 cut");
      return true;
    case kFixed32: {
      uint32_t v = 0;
      if (!r_.u32le(v)) return fail("protobuf: fixed32 cut");
      f.varint = v;
      return true;
    }
    case kLen: {
      uint64_t n = 0;
      if (!readVarint(r_, n)) return fail("protobuf: bad length varint");
      if (n > r_.remaining() || !r_.bytes(static_cast<size_t>(n), f.bytes)) {
        return fail("protobuf: length past the end of its message");
      }
      return true;
    }
    default: return fail("protobuf: group or reserved wire type");
  }
}

bool summarize(Bytes data, Summary& out) noexcept {
  Reader r(data);
  Field f;
  while (r.next(f)) {
    if (f.number >= Summary::kSlots) continue;
    const uint32_t bit = 1u << f.number;
    if (f.wire == kVarint) {
      out.varints_present |= bit;
      out.varint[f.number] = f.varint;
    } else if (f.wire == kLen && !(out.bytes_present & bit)) {
      out.bytes_present |= bit;
      out.bytes[f.number] = f.bytes;
    }
  }
  out.error = r.error();
  return !r.failed();
}

}  // namespace l7::pulsar::pb
