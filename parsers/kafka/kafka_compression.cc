// Bounded decompression for the four codecs Kafka batches use. Every codec
// writes into a buffer of at most max_out bytes and stops there, so a
// decompression bomb costs max_out bytes and the time to produce them.
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "kafka/kafka_records.h"

namespace l7::kafka {
namespace {

struct ZlibContext {
  z_stream s{};
  // 15 + 32: zlib or gzip header, detected automatically.
  bool ok = inflateInit2(&s, 15 + 32) == Z_OK;
  ~ZlibContext() {
    if (ok) inflateEnd(&s);
  }
};

bool gunzipPrefix(Bytes input, size_t max_out, std::string& out) {
  // Reused per thread, like the other codecs' contexts (see below).
  thread_local ZlibContext holder;
  if (!holder.ok || inflateReset(&holder.s) != Z_OK) return false;
  z_stream& s = holder.s;
  out.resize(max_out);
  s.next_in = const_cast<Bytef*>(input.data());
  s.avail_in = static_cast<uInt>(std::min<size_t>(input.size(), 0xffffffffu));
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(max_out);
  int rc = Z_OK;
  while (s.avail_out > 0 && rc == Z_OK) rc = inflate(&s, Z_NO_FLUSH);
  const size_t produced = max_out - s.avail_out;
  out.resize(produced);
  // Z_BUF_ERROR: input ended early (a prefix) or output full; both fine.
  return rc == Z_OK || rc == Z_STREAM_END || (rc == Z_BUF_ERROR && produced > 0);
}

bool rawSnappy(Bytes input, size_t max_out, std::string& out) {
  size_t length = 0;
  const char* in = reinterpret_cast<const char*>(input.data());
  if (snappy_uncompressed_length(in, input.size(), &length) != SNAPPY_OK) return false;
  // Raw snappy cannot be decoded partially with the C API: a block whose
  // output would pass the cap is not decoded at all.
  if (length > max_out) return false;
  const size_t before = out.size();
  out.resize(before + length);
  if (snappy_uncompress(in, input.size(), out.data() + before, &length) != SNAPPY_OK) {
    out.resize(before);
    return false;
  }
  out.resize(before + length);
  return true;
}

// The Java client's xerial framing: magic, version, compatible version,
// then [u32 BE length][raw snappy block] chunks.
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

bool snappyPrefix(Bytes input, size_t max_out, std::string& out) {
  out.clear();
  if (input.size() < 16 || std::memcmp(input.data(), kXerialMagic, sizeof kXerialMagic) != 0) {
    return rawSnappy(input, max_out, out);
  }
  ByteReader r(input.subspan(16));
  while (!r.empty() && out.size() < max_out) {
    uint32_t chunk_len = 0;
    Bytes chunk;
    if (!r.u32be(chunk_len) || !r.bytes(chunk_len, chunk)) break;  // cut short: keep what we have
    if (!rawSnappy(chunk, max_out - out.size(), out)) return !out.empty();
  }
  return !out.empty();
}

// Decompression contexts are costly to create (zstd allocates its window
// tables); one per thread is reused, reset before every use.
struct Lz4Context {
  LZ4F_dctx* ctx = nullptr;
  Lz4Context() {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) ctx = nullptr;
  }
  ~Lz4Context() { LZ4F_freeDecompressionContext(ctx); }
};
struct ZstdContext {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  ~ZstdContext() { ZSTD_freeDCtx(ctx); }
};

bool lz4Prefix(Bytes input, size_t max_out, std::string& out) {
  thread_local Lz4Context holder;
  LZ4F_dctx* ctx = holder.ctx;
  if (ctx == nullptr) return false;
  LZ4F_resetDecompressionContext(ctx);
  out.resize(max_out);
  size_t in_pos = 0, out_pos = 0;
  bool ok = true;
  while (in_pos < input.size() && out_pos < max_out) {
    size_t dst = max_out - out_pos;
    size_t src = input.size() - in_pos;
    const size_t hint = LZ4F_decompress(ctx, out.data() + out_pos, &dst, input.data() + in_pos, &src, nullptr);
    if (LZ4F_isError(hint)) {
      ok = false;
      break;
    }
    in_pos += src;
    out_pos += dst;
    if (hint == 0) break;               // frame complete
    if (src == 0 && dst == 0) break;    // no progress possible
  }
  out.resize(out_pos);
  return ok || out_pos > 0;
}

bool zstdPrefix(Bytes input, size_t max_out, std::string& out) {
  thread_local ZstdContext holder;
  ZSTD_DCtx* ctx = holder.ctx;
  if (ctx == nullptr) return false;
  ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only);
  // A frame may demand a window of up to 2^31 bytes; refuse windows past
  // 16 MiB so a hostile header cannot make us allocate them.
  ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, 24);
  out.resize(max_out);
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  ZSTD_outBuffer o{out.data(), max_out, 0};
  bool ok = true;
  while (in.pos < in.size && o.pos < o.size) {
    const size_t before_in = in.pos, before_out = o.pos;
    const size_t rc = ZSTD_decompressStream(ctx, &o, &in);
    if (ZSTD_isError(rc)) {
      ok = false;
      break;
    }
    if (rc == 0) break;  // frame complete
    if (in.pos == before_in && o.pos == before_out) break;
  }
  out.resize(o.pos);
  return ok || o.pos > 0;
}

}  // namespace

bool decompressPrefix(int codec, Bytes input, size_t max_out, std::string& out) {
  out.clear();
  switch (codec) {
    case 1: return gunzipPrefix(input, max_out, out);
    case 2: return snappyPrefix(input, max_out, out);
    case 3: return lz4Prefix(input, max_out, out);
    case 4: return zstdPrefix(input, max_out, out);
    default: return false;
  }
}

}  // namespace l7::kafka
