// Builds link-layer frames carrying TCP segments, and writes captures.
// Used by the synthesizer, the tests and the fuzz seed tools: primitive
// writers only (no decoding logic), so what they produce is an independent
// check of the capture layer that reads it back.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "capture/stream_events.h"

namespace l7h {

enum class LinkType { kEthernet, kLinuxSll, kLinuxSll2, kNull, kRawIp };

// The DLT_* value libpcap uses in memory, and the LINKTYPE_* value capture
// files store (they differ for raw IP only).
int dltOf(LinkType link);
int linktypeOf(LinkType link);

struct TcpFrameSpec {
  LinkType link = LinkType::kEthernet;
  std::vector<uint16_t> vlan_tags;  // outermost first (802.1Q; the first is 802.1ad when there are two)
  Endpoint src, dst;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0x18;  // PSH|ACK
  uint16_t window = 65535;
  std::span<const uint8_t> payload;
  uint16_t ip_id = 1;
  // IPv6 only: extension headers to insert before TCP (hop-by-hop=0,
  // destination options=60), each an empty 8-byte header.
  std::vector<uint8_t> ipv6_extensions;
};

// One frame (checksums correct).
std::vector<uint8_t> buildTcpFrame(const TcpFrameSpec& spec);

// The same segment as IP fragments of at most `fragment_payload` bytes of IP
// payload each (a multiple of 8), in order; IPv4 uses the flags/offset
// field, IPv6 a fragment extension header.
std::vector<std::vector<uint8_t>> buildFragmentedTcpFrames(const TcpFrameSpec& spec, size_t fragment_payload);

uint16_t internetChecksum(std::span<const uint8_t> data, uint32_t initial = 0);

struct CapturedFrame {
  int64_t ts_us = 0;
  std::vector<uint8_t> bytes;
  uint32_t orig_len = 0;  // 0: same as bytes.size(); larger simulates a snap-length cut
};

// Classic pcap (microsecond timestamps, snap length 262144) written by
// libpcap's dumper, or pcapng (SHB, IDB, EPB; hand-written, see the .cc).
// Deterministic: the same frames give the same bytes. The file writers
// return false with `error` ("PATH: reason") when the file cannot be
// written; pcapBytes, in memory, can only run out of memory (std::bad_alloc).
bool writePcap(const std::string& path, LinkType link, const std::vector<CapturedFrame>& frames, std::string& error);
bool writePcapng(const std::string& path, LinkType link, const std::vector<CapturedFrame>& frames, std::string& error);
std::vector<uint8_t> pcapBytes(LinkType link, const std::vector<CapturedFrame>& frames);

}  // namespace l7h
