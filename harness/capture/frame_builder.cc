#include "capture/frame_builder.h"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

namespace l7h {
namespace {

constexpr int kSnapLength = 262144;  // libpcap's and tcpdump's default

void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, static_cast<uint16_t>(x >> 16));
  put16(v, static_cast<uint16_t>(x));
}
void le16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x));
  v.push_back(static_cast<uint8_t>(x >> 8));
}
void le32(std::vector<uint8_t>& v, uint32_t x) {
  le16(v, static_cast<uint16_t>(x));
  le16(v, static_cast<uint16_t>(x >> 16));
}
void set16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
  v[at] = static_cast<uint8_t>(x >> 8);
  v[at + 1] = static_cast<uint8_t>(x);
}

std::vector<uint8_t> tcpSegment(const TcpFrameSpec& s) {
  std::vector<uint8_t> t;
  put16(t, s.src.port);
  put16(t, s.dst.port);
  put32(t, s.seq);
  put32(t, s.ack);
  t.push_back(5 << 4);
  t.push_back(s.flags);
  put16(t, s.window);
  put16(t, 0);  // checksum, below
  put16(t, 0);  // urgent pointer
  t.insert(t.end(), s.payload.begin(), s.payload.end());
  // Pseudo-header sum.
  uint32_t sum = 0;
  const size_t addr_len = s.src.ip.v4 ? 4 : 16;
  for (size_t i = 0; i < addr_len; i += 2) {
    sum += static_cast<uint32_t>((s.src.ip.bytes[i] << 8) | s.src.ip.bytes[i + 1]);
    sum += static_cast<uint32_t>((s.dst.ip.bytes[i] << 8) | s.dst.ip.bytes[i + 1]);
  }
  sum += 6;
  sum += static_cast<uint32_t>(t.size() & 0xFFFF) + static_cast<uint32_t>(t.size() >> 16);
  set16(t, 16, internetChecksum(t, sum));
  return t;
}

std::vector<uint8_t> ipv4Header(const TcpFrameSpec& s, size_t payload_len, uint16_t frag_field) {
  std::vector<uint8_t> h;
  h.push_back(0x45);
  h.push_back(0);
  put16(h, static_cast<uint16_t>(20 + payload_len));
  put16(h, s.ip_id);
  put16(h, frag_field);
  h.push_back(64);
  h.push_back(6);
  put16(h, 0);
  h.insert(h.end(), s.src.ip.bytes.begin(), s.src.ip.bytes.begin() + 4);
  h.insert(h.end(), s.dst.ip.bytes.begin(), s.dst.ip.bytes.begin() + 4);
  set16(h, 10, internetChecksum(h));
  return h;
}

// IPv6 header + the requested extension headers; `next_after` is the
// protocol that follows the last extension (6 TCP, 44 fragment).
std::vector<uint8_t> ipv6Header(const TcpFrameSpec& s, size_t payload_len, uint8_t next_after) {
  std::vector<uint8_t> ext;
  for (size_t i = 0; i < s.ipv6_extensions.size(); ++i) {
    const uint8_t next = i + 1 < s.ipv6_extensions.size() ? s.ipv6_extensions[i + 1] : next_after;
    ext.push_back(next);
    ext.push_back(0);  // length 0: 8 bytes
    // PadN option filling the remaining 6 bytes.
    ext.push_back(1);
    ext.push_back(4);
    for (int k = 0; k < 4; ++k) ext.push_back(0);
  }
  std::vector<uint8_t> h;
  put32(h, 0x60000000);
  put16(h, static_cast<uint16_t>(ext.size() + payload_len));
  h.push_back(s.ipv6_extensions.empty() ? next_after : s.ipv6_extensions.front());
  h.push_back(64);
  h.insert(h.end(), s.src.ip.bytes.begin(), s.src.ip.bytes.end());
  h.insert(h.end(), s.dst.ip.bytes.begin(), s.dst.ip.bytes.end());
  h.insert(h.end(), ext.begin(), ext.end());
  return h;
}

std::vector<uint8_t> linkHeader(const TcpFrameSpec& s) {
  std::vector<uint8_t> l;
  const uint16_t ethertype = s.src.ip.v4 ? 0x0800 : 0x86DD;
  switch (s.link) {
    case LinkType::kEthernet: {
      const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 2};
      const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 1};
      l.insert(l.end(), dst_mac, dst_mac + 6);
      l.insert(l.end(), src_mac, src_mac + 6);
      for (size_t i = 0; i < s.vlan_tags.size(); ++i) {
        put16(l, i == 0 && s.vlan_tags.size() > 1 ? 0x88A8 : 0x8100);
        put16(l, s.vlan_tags[i] & 0x0FFF);
      }
      put16(l, ethertype);
      break;
    }
    case LinkType::kLinuxSll:
      put16(l, 0);  // packet type: to us
      put16(l, 772);  // ARPHRD_LOOPBACK
      put16(l, 6);
      for (int i = 0; i < 8; ++i) l.push_back(0);
      put16(l, ethertype);
      break;
    case LinkType::kLinuxSll2:
      put16(l, ethertype);
      put16(l, 0);       // reserved
      put32(l, 1);       // interface index
      put16(l, 772);     // ARPHRD type
      l.push_back(0);    // packet type
      l.push_back(6);    // address length
      for (int i = 0; i < 8; ++i) l.push_back(0);
      break;
    case LinkType::kNull:
      le32(l, s.src.ip.v4 ? 2 : 30);  // AF_INET / AF_INET6 (BSD), host order little-endian
      break;
    case LinkType::kRawIp:
      break;
  }
  return l;
}

}  // namespace

int dltOf(LinkType link) {
  switch (link) {
    case LinkType::kEthernet: return DLT_EN10MB;
    case LinkType::kLinuxSll: return DLT_LINUX_SLL;
    case LinkType::kLinuxSll2: return DLT_LINUX_SLL2;
    case LinkType::kNull: return DLT_NULL;
    case LinkType::kRawIp: return DLT_RAW;
  }
  return DLT_EN10MB;
}

int linktypeOf(LinkType link) {
  // LINKTYPE_* (tcpdump.org/linktypes.html) equal the DLT_* values except
  // raw IP, whose DLT value differs between platforms (12 on Linux).
  return link == LinkType::kRawIp ? 101 : dltOf(link);
}

uint16_t internetChecksum(std::span<const uint8_t> data, uint32_t initial) {
  uint64_t sum = initial;
  for (size_t i = 0; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>((data[i] << 8) | data[i + 1]);
  if (data.size() % 2 == 1) sum += static_cast<uint32_t>(data.back() << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> buildTcpFrame(const TcpFrameSpec& spec) {
  const std::vector<uint8_t> tcp = tcpSegment(spec);
  std::vector<uint8_t> frame = linkHeader(spec);
  const std::vector<uint8_t> ip = spec.src.ip.v4 ? ipv4Header(spec, tcp.size(), 0x4000) : ipv6Header(spec, tcp.size(), 6);
  frame.insert(frame.end(), ip.begin(), ip.end());
  frame.insert(frame.end(), tcp.begin(), tcp.end());
  return frame;
}

std::vector<std::vector<uint8_t>> buildFragmentedTcpFrames(const TcpFrameSpec& spec, size_t fragment_payload) {
  const std::vector<uint8_t> tcp = tcpSegment(spec);
  const size_t piece = std::max<size_t>(8, fragment_payload - fragment_payload % 8);
  std::vector<std::vector<uint8_t>> frames;
  for (size_t off = 0; off < tcp.size(); off += piece) {
    const size_t n = std::min(piece, tcp.size() - off);
    const bool more = off + n < tcp.size();
    std::vector<uint8_t> frame = linkHeader(spec);
    if (spec.src.ip.v4) {
      const uint16_t field = static_cast<uint16_t>((more ? 0x2000 : 0) | (off / 8));
      const auto ip = ipv4Header(spec, n, field);
      frame.insert(frame.end(), ip.begin(), ip.end());
    } else {
      const auto ip = ipv6Header(spec, n + 8, 44);
      frame.insert(frame.end(), ip.begin(), ip.end());
      frame.push_back(6);  // next header: TCP
      frame.push_back(0);
      std::vector<uint8_t> f;
      put16(f, static_cast<uint16_t>((off / 8) << 3 | (more ? 1 : 0)));
      put32(f, spec.ip_id);
      frame.insert(frame.end(), f.begin(), f.end());
    }
    frame.insert(frame.end(), tcp.begin() + static_cast<std::ptrdiff_t>(off),
                 tcp.begin() + static_cast<std::ptrdiff_t>(off + n));
    frames.push_back(std::move(frame));
  }
  return frames;
}

namespace {

// A pcap_t that only describes the capture to write (link type, snap
// length, microsecond timestamps), closed on every path.
struct DeadHandle {
  pcap_t* p;
  explicit DeadHandle(LinkType link)
      : p(pcap_open_dead_with_tstamp_precision(dltOf(link), kSnapLength, PCAP_TSTAMP_PRECISION_MICRO)) {}
  ~DeadHandle() {
    if (p != nullptr) pcap_close(p);
  }
  DeadHandle(const DeadHandle&) = delete;
  DeadHandle& operator=(const DeadHandle&) = delete;
};

// Hands every frame to libpcap's dumper and flushes. pcap_dump() itself
// reports nothing (it stops writing once the stream is in error), so the
// stream's error flag is checked after every packet, while errno still
// says why; `name` prefixes the message.
bool dumpFrames(pcap_dumper_t* dumper, const std::vector<CapturedFrame>& frames, const std::string& name,
                std::string& error) {
  FILE* file = pcap_dump_file(dumper);
  auto failed = [&](int err) {
    error = name + ": cannot write: " + (err != 0 ? std::strerror(err) : "I/O error");
    return false;
  };
  for (const CapturedFrame& f : frames) {
    pcap_pkthdr h{};
    // The inverse of the capture reader's ts_us = tv_sec * 10^6 + tv_usec.
    h.ts.tv_sec = static_cast<time_t>(f.ts_us / 1'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(f.ts_us % 1'000'000);
    h.caplen = static_cast<bpf_u_int32>(f.bytes.size());
    h.len = f.orig_len != 0 ? f.orig_len : h.caplen;
    errno = 0;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, f.bytes.data());
    if (std::ferror(file) != 0) return failed(errno);
  }
  errno = 0;
  if (pcap_dump_flush(dumper) != 0 || std::ferror(file) != 0) return failed(errno);
  return true;
}

}  // namespace

// Classic pcap goes through libpcap's own dumper, so the files are exactly
// what libpcap (and tcpdump) write: header in host byte order, LINKTYPE_*
// values mapped from the DLT by libpcap (DLT_RAW becomes LINKTYPE_RAW 101).
std::vector<uint8_t> pcapBytes(LinkType link, const std::vector<CapturedFrame>& frames) {
  // In memory through open_memstream: every step below can only fail for
  // want of memory, which std::bad_alloc says.
  DeadHandle dead(link);
  if (dead.p == nullptr) throw std::bad_alloc();
  char* buffer = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&buffer, &size);
  if (stream == nullptr) throw std::bad_alloc();
  pcap_dumper_t* dumper = pcap_dump_fopen(dead.p, stream);
  if (dumper == nullptr) {
    std::fclose(stream);
    std::free(buffer);
    throw std::bad_alloc();
  }
  std::string error;
  const bool ok = dumpFrames(dumper, frames, "(memory)", error);
  pcap_dump_close(dumper);  // closes the stream: buffer and size are final
  std::vector<uint8_t> out(buffer, buffer + size);
  std::free(buffer);
  if (!ok) throw std::bad_alloc();
  return out;
}

bool writePcap(const std::string& path, LinkType link, const std::vector<CapturedFrame>& frames, std::string& error) {
  DeadHandle dead(link);
  if (dead.p == nullptr) {
    error = path + ": cannot set up the pcap writer (out of memory)";
    return false;
  }
  pcap_dumper_t* dumper = pcap_dump_open(dead.p, path.c_str());
  if (dumper == nullptr) {
    error = pcap_geterr(dead.p);  // libpcap's message names the path and the reason
    return false;
  }
  const bool ok = dumpFrames(dumper, frames, path, error);
  // pcap_dump_close() returns nothing; after the checked flush the data is
  // with the kernel, so only a failing close(2) (NFS) could go unreported.
  pcap_dump_close(dumper);
  return ok;
}

// pcapng is written by hand: libpcap 1.10 (Debian 12's) reads pcapng but
// its dumper writes classic pcap only (pcap_dump_open has no pcapng mode).
// One section, one interface, Enhanced Packet Blocks (pcapng spec,
// draft-ietf-opsawg-pcapng); the capture tests read the result back through
// libpcap and compare it packet by packet with the pcap of the same frames.
bool writePcapng(const std::string& path, LinkType link, const std::vector<CapturedFrame>& frames,
                 std::string& error) {
  std::vector<uint8_t> out;
  // Section header block.
  le32(out, 0x0A0D0D0A);
  le32(out, 28);
  le32(out, 0x1A2B3C4D);
  le16(out, 1);
  le16(out, 0);
  le32(out, 0xFFFFFFFF);  // section length unknown
  le32(out, 0xFFFFFFFF);
  le32(out, 28);
  // Interface description block (default resolution: microseconds). The
  // link type field holds a LINKTYPE_* value, as in the pcap header.
  le32(out, 1);
  le32(out, 20);
  le16(out, static_cast<uint16_t>(linktypeOf(link)));
  le16(out, 0);
  le32(out, kSnapLength);
  le32(out, 20);
  for (const auto& f : frames) {
    const uint32_t padded = static_cast<uint32_t>((f.bytes.size() + 3) & ~size_t{3});
    const uint32_t total = 32 + padded;
    const uint64_t ts = static_cast<uint64_t>(f.ts_us);
    le32(out, 6);
    le32(out, total);
    le32(out, 0);  // interface id
    le32(out, static_cast<uint32_t>(ts >> 32));
    le32(out, static_cast<uint32_t>(ts));
    le32(out, static_cast<uint32_t>(f.bytes.size()));
    le32(out, f.orig_len != 0 ? f.orig_len : static_cast<uint32_t>(f.bytes.size()));
    out.insert(out.end(), f.bytes.begin(), f.bytes.end());
    out.resize(out.size() + (padded - f.bytes.size()), 0);
    le32(out, total);
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  file.close();  // a failed flush at close sets failbit too
  if (!file) {
    error = path + ": cannot write";
    return false;
  }
  return true;
}

}  // namespace l7h
