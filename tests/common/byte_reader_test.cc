#include "l7/byte_reader.h"

#include <gtest/gtest.h>

#include <vector>

namespace l7 {
namespace {

TEST(ByteReader, BigAndLittleEndianIntegers) {
  const std::vector<uint8_t> data = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  ByteReader r(data);
  uint16_t a = 0;
  ASSERT_TRUE(r.u16be(a));
  EXPECT_EQ(a, 0x0102);
  uint16_t b = 0;
  ASSERT_TRUE(r.u16le(b));
  EXPECT_EQ(b, 0x0403);
  uint32_t c = 0;
  ASSERT_TRUE(r.u32be(c));
  EXPECT_EQ(c, 0x05060708u);
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, FailedReadDoesNotAdvance) {
  const std::vector<uint8_t> data = {0xff, 0xfe, 0xfd};
  ByteReader r(data);
  uint32_t v = 0;
  EXPECT_FALSE(r.u32be(v));
  EXPECT_EQ(r.position(), 0u);
  int16_t s = 0;
  ASSERT_TRUE(r.i16be(s));
  EXPECT_EQ(s, -2);
  Bytes out;
  EXPECT_FALSE(r.bytes(2, out));
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(ByteReader, SubReaderIsFenced) {
  const std::vector<uint8_t> data = {2, 'h', 'i', 'X'};
  ByteReader r(data);
  uint8_t len = 0;
  ASSERT_TRUE(r.u8(len));
  ByteReader inner;
  ASSERT_TRUE(r.sub(len, inner));
  std::string_view s;
  EXPECT_FALSE(inner.text(3, s));  // cannot see the parent's 'X'
  ASSERT_TRUE(inner.text(2, s));
  EXPECT_EQ(s, "hi");
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(ByteReader, Varints) {
  const std::vector<uint8_t> data = {0xac, 0x02, 0x03, 0x80, 0x80, 0x80, 0x80, 0x01};
  ByteReader r(data);
  uint64_t u = 0;
  ASSERT_TRUE(r.uvarint(u));
  EXPECT_EQ(u, 300u);
  int64_t s = 0;
  ASSERT_TRUE(r.svarint(s));
  EXPECT_EQ(s, -2);  // zig-zag 3 → -2
  uint32_t m = 0;
  EXPECT_FALSE(r.mqttVarint(m));  // five bytes: longer than MQTT allows
  EXPECT_EQ(r.position(), 3u);
}

TEST(ByteReader, TruncatedVarintFails) {
  const std::vector<uint8_t> data = {0x80, 0x80};
  ByteReader r(data);
  uint64_t u = 0;
  EXPECT_FALSE(r.uvarint(u));
  EXPECT_EQ(r.position(), 0u);
}

}  // namespace
}  // namespace l7
