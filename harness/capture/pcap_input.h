// libpcap, wrapped: capture files (pcap and pcapng), in-memory captures and
// live interfaces, all yielding the same RawPacket. Errors are one line that
// names the input and the reason.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

struct pcap;
struct bpf_program;

namespace l7h {

struct RawPacket {
  int64_t ts_us = 0;
  uint32_t caplen = 0;   // bytes present in `data`
  uint32_t wirelen = 0;  // bytes the packet had on the wire (>= caplen)
  int linktype = 0;      // DLT_* value
  const uint8_t* data = nullptr;
};

// Link types the packet decoder understands.
bool isSupportedLinkType(int dlt);

// Whether `bpf_filter` compiles (for Ethernet); false with libpcap's reason
// in `error`. A filter can still fail on a file of another link type.
bool checkBpfFilter(const std::string& bpf_filter, std::string& error);

class PcapInput {
 public:
  ~PcapInput();
  PcapInput(const PcapInput&) = delete;
  PcapInput& operator=(const PcapInput&) = delete;

  // `bpf_filter` (optional): only packets it matches are returned, as
  // tshark -f does for files (pcap_offline_filter).
  static std::unique_ptr<PcapInput> openFile(const std::string& path, std::string& error,
                                             const std::string& bpf_filter = {});
  // A capture file held in memory (fuzzers, tests). The bytes must outlive the input.
  static std::unique_ptr<PcapInput> openMemory(std::span<const uint8_t> bytes, std::string& error);
  static std::unique_ptr<PcapInput> openLive(const std::string& interface, const std::string& bpf_filter,
                                             std::string& error);

  // 1: `packet` filled (valid until the next call); 0: end of input (or, live,
  // nothing within the read timeout); -1: error, see error().
  int next(RawPacket& packet);
  bool isLive() const { return live_; }
  const std::string& error() const { return error_; }
  void breakLoop();

 private:
  PcapInput(pcap* handle, std::string name, bool live, FILE* owned_file);
  pcap* handle_;
  std::string name_;
  bool live_;
  FILE* owned_file_;
  bpf_program* filter_ = nullptr;  // files: applied in next()
  int linktype_ = 0;
  std::string error_;
};

}  // namespace l7h
