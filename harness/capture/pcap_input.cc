#include "capture/pcap_input.h"

#include <pcap/pcap.h>

#include <cstdio>
#include <cstring>

namespace l7h {
namespace {

// LINKTYPE_* values that libpcap may hand back unmapped on some platforms.
constexpr int kLinktypeRaw = 101;
constexpr int kLinktypeIpv4 = 228;
constexpr int kLinktypeIpv6 = 229;

std::string describeLinkType(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  return name != nullptr ? std::string(name) + " (" + std::to_string(dlt) + ")" : std::to_string(dlt);
}

// "NAME: TEXT", unless libpcap already began TEXT with the name (it does
// for files it cannot open: "x.pcap: No such file or directory").
std::string named(const std::string& name, const std::string& text) {
  if (text.compare(0, name.size() + 2, name + ": ") == 0) return text;
  return name + ": " + text;
}

}  // namespace

bool checkBpfFilter(const std::string& bpf_filter, std::string& error) {
  pcap* dead = pcap_open_dead(DLT_EN10MB, 262144);
  if (dead == nullptr) {
    error = "cannot check the filter";
    return false;
  }
  bpf_program program{};
  const bool ok = pcap_compile(dead, &program, bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
  if (ok) {
    pcap_freecode(&program);
  } else {
    error = "bad filter '" + bpf_filter + "': " + pcap_geterr(dead);
  }
  pcap_close(dead);
  return ok;
}

bool isSupportedLinkType(int dlt) {
  switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_RAW:
    case kLinktypeRaw:
    case kLinktypeIpv4:
    case kLinktypeIpv6:
      return true;
    default:
      return false;
  }
}

PcapInput::PcapInput(pcap* handle, std::string name, bool live, FILE* owned_file)
    : handle_(handle), name_(std::move(name)), live_(live), owned_file_(owned_file) {
  linktype_ = pcap_datalink(handle_);
}

PcapInput::~PcapInput() {
  if (filter_ != nullptr) {
    pcap_freecode(filter_);
    delete filter_;
  }
  // pcap_close closes the FILE* given to pcap_fopen_offline as well.
  if (handle_ != nullptr) pcap_close(handle_);
}

std::unique_ptr<PcapInput> PcapInput::openFile(const std::string& path, std::string& error,
                                               const std::string& bpf_filter) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap* h = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (h == nullptr) {
    error = named(path, errbuf[0] != 0 ? errbuf : "cannot open capture");
    return nullptr;
  }
  std::unique_ptr<PcapInput> in(new PcapInput(h, path, false, nullptr));
  if (!isSupportedLinkType(in->linktype_)) {
    error = path + ": unsupported link type " + describeLinkType(in->linktype_) +
            " (supported: Ethernet, Linux cooked SLL/SLL2, BSD loopback/NULL, raw IPv4/IPv6)";
    return nullptr;
  }
  if (!bpf_filter.empty()) {
    // Compiled for this file's link type, as a live capture's filter is for its interface's.
    auto program = std::make_unique<bpf_program>();
    if (pcap_compile(h, program.get(), bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      error = path + ": bad filter '" + bpf_filter + "' for this file: " + pcap_geterr(h);
      return nullptr;
    }
    in->filter_ = program.release();
  }
  return in;
}

std::unique_ptr<PcapInput> PcapInput::openMemory(std::span<const uint8_t> bytes, std::string& error) {
  // fmemopen needs a non-empty buffer; an empty capture is simply not one.
  if (bytes.empty()) {
    error = "(memory): empty capture";
    return nullptr;
  }
  FILE* f = fmemopen(const_cast<uint8_t*>(bytes.data()), bytes.size(), "rb");
  if (f == nullptr) {
    error = std::string("(memory): ") + std::strerror(errno);
    return nullptr;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap* h = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (h == nullptr) {
    std::fclose(f);
    error = std::string("(memory): ") + (errbuf[0] != 0 ? errbuf : "not a capture");
    return nullptr;
  }
  std::unique_ptr<PcapInput> in(new PcapInput(h, "(memory)", false, f));
  if (!isSupportedLinkType(in->linktype_)) {
    error = "(memory): unsupported link type " + describeLinkType(in->linktype_);
    return nullptr;
  }
  return in;
}

std::unique_ptr<PcapInput> PcapInput::openLive(const std::string& interface, const std::string& bpf_filter,
                                               std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap* h = pcap_create(interface.c_str(), errbuf);
  if (h == nullptr) {
    error = named(interface, errbuf);
    return nullptr;
  }
  auto fail = [&](const std::string& what) {
    error = interface + ": " + what + ": " + pcap_geterr(h);
    pcap_close(h);
    return nullptr;
  };
  pcap_set_snaplen(h, 262144);
  pcap_set_immediate_mode(h, 1);
  pcap_set_timeout(h, 100);  // ms: lets the loop notice Ctrl-C and idle timeouts
  pcap_set_tstamp_precision(h, PCAP_TSTAMP_PRECISION_MICRO);
  if (pcap_activate(h) < 0) return fail("cannot start capture");
  if (!bpf_filter.empty()) {
    bpf_program program{};
    if (pcap_compile(h, &program, bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
      return fail("bad filter '" + bpf_filter + "'");
    const int rc = pcap_setfilter(h, &program);
    pcap_freecode(&program);
    if (rc != 0) return fail("cannot set filter");
  }
  std::unique_ptr<PcapInput> in(new PcapInput(h, interface, true, nullptr));
  if (!isSupportedLinkType(in->linktype_)) {
    error = interface + ": unsupported link type " + describeLinkType(in->linktype_);
    return nullptr;
  }
  return in;
}

int PcapInput::next(RawPacket& packet) {
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(handle_, &header, &data);
  while (rc == 1 && filter_ != nullptr && pcap_offline_filter(filter_, header, data) == 0) {
    rc = pcap_next_ex(handle_, &header, &data);
  }
  if (rc == 1) {
    packet.ts_us = static_cast<int64_t>(header->ts.tv_sec) * 1'000'000 + header->ts.tv_usec;
    packet.caplen = header->caplen;
    packet.wirelen = header->len < header->caplen ? header->caplen : header->len;
    packet.linktype = linktype_;
    packet.data = data;
    return 1;
  }
  if (rc == 0) return 0;             // live: read timeout
  if (rc == PCAP_ERROR_BREAK) return 0;  // end of file, or breakLoop()
  error_ = named(name_, pcap_geterr(handle_));
  if (error_.find("truncated") != std::string::npos) error_ = name_ + ": truncated capture file";
  return -1;
}

void PcapInput::breakLoop() { pcap_breakloop(handle_); }

}  // namespace l7h
