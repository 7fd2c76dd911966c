// l7conform synth: a synthesized capture and the records it must produce.
#include <cstdio>
#include <fstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "l7/record_json.h"
#include "synth/synthesizer.h"

namespace l7h::cli {

int synthCommand(Args args) {
  std::string protocol, version, output, expect, segmentation = "whole", link = "ethernet";
  int64_t seed = 1, plan_seed = -1, count = 50, connections = 1, mss = 1460, retransmit = 0, reorder = 0, vlan = -1, join_at = 0;
  bool ipv6 = false, pcapng = false, no_handshake = false, drop_one = false;
  std::string known;
  for (const auto& g : synth::generators()) known += (known.empty() ? "" : ", ") + std::string(g.protocol);
  ArgParser p("synth", "--protocol P -o OUT.pcap [options]",
              "Writes a capture of synthesized protocol traffic and, with --expect, the l7_flow_log records\n"
              "it must produce, derived from the conversation model by the mapping tables (independently of\n"
              "the decoders). The same seed always gives the same bytes. Protocols: " + known + ".");
  p.option("--protocol", &protocol, "P", "protocol to synthesize (registry key)");
  p.option("--version", &version, "V", "protocol version (default: the generator's first; see l7conform versions)");
  p.option("--seed", &seed, "N", "random seed (default 1)");
  p.option("--plan-seed", &plan_seed, "N", "seed of the packet plan only (default: --seed); reproduces property cases");
  p.option("--count", &count, "M", "messages per connection (default 50)");
  p.option("--connections", &connections, "C", "concurrent connections (default 1)");
  p.option("--segmentation", &segmentation, "MODE", "whole | coalesced | random | one-byte (default whole)");
  p.option("--mss", &mss, "BYTES", "largest TCP payload per packet (default 1460)");
  p.option("--retransmit", &retransmit, "PCT", "retransmit this percentage of packets");
  p.option("--reorder", &reorder, "PCT", "swap this percentage of adjacent packets");
  p.flag("--drop-one", &drop_one, "drop one data packet per connection (a gap)");
  p.flag("--no-handshake", &no_handshake, "start mid-connection (no SYN/SYN-ACK)");
  p.option("--join-at", &join_at, "N",
           "with --no-handshake: captures start at message N of each connection (default 0)");
  p.flag("--ipv6", &ipv6, "IPv6 instead of IPv4");
  p.option("--link", &link, "TYPE", "ethernet | sll | sll2 | null | raw (default ethernet)");
  p.option("--vlan", &vlan, "ID", "an 802.1Q tag (ethernet only)");
  p.flag("--pcapng", &pcapng, "write pcapng instead of pcap");
  p.option("-o", &output, "OUT", "capture file to write");
  p.option("--expect", &expect, "FILE", "also write the expected records as JSON Lines");
  p.examples(
      "  l7conform synth --protocol nats -o n.pcap --expect n.jsonl\n"
      "  l7conform synth --protocol nats --version 0 --segmentation one-byte --reorder 20 -o n.pcap\n"
      "  l7conform synth --protocol nats --count 1000 --connections 1000 -o big.pcap   # for bench");
  int code = 0;
  if (!p.parse(args, code)) return code;
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "l7conform synth: %s\n", why.c_str());
    return 2;
  };
  if (protocol.empty() || output.empty()) return fail("--protocol and -o are required (see --help)");
  if (count <= 0 || connections <= 0 || mss <= 0 || retransmit < 0 || reorder < 0 || retransmit > 100 || reorder > 100)
    return fail("counts must be positive and percentages 0..100");
  if (join_at < 0 || (join_at > 0 && !no_handshake)) return fail("--join-at N needs N >= 0 and --no-handshake");
  synth::SynthOptions o;
  o.protocol = protocol;
  o.version = version;
  o.seed = static_cast<uint64_t>(seed);
  o.messages = static_cast<size_t>(count);
  o.connections = static_cast<size_t>(connections);
  o.ipv6 = ipv6;
  if (!synth::parseSegmentation(segmentation, o.plan.segmentation)) return fail("unknown segmentation '" + segmentation + "'");
  o.plan.seed = static_cast<uint64_t>(plan_seed >= 0 ? plan_seed : seed);
  o.plan.mss = static_cast<size_t>(mss);
  o.plan.retransmit_percent = static_cast<uint32_t>(retransmit);
  o.plan.reorder_percent = static_cast<uint32_t>(reorder);
  o.plan.drop_one = drop_one;
  o.plan.handshake = !no_handshake;
  o.join_at = static_cast<size_t>(join_at);
  const std::pair<const char*, LinkType> links[] = {{"ethernet", LinkType::kEthernet}, {"sll", LinkType::kLinuxSll},
                                                    {"sll2", LinkType::kLinuxSll2}, {"null", LinkType::kNull},
                                                    {"raw", LinkType::kRawIp}};
  bool link_ok = false;
  for (const auto& [name, type] : links) {
    if (link == name) {
      o.plan.link = type;
      link_ok = true;
    }
  }
  if (!link_ok) return fail("unknown link type '" + link + "'");
  if (vlan >= 0) o.plan.vlan_tags = {static_cast<uint16_t>(vlan)};

  synth::Model model;
  std::string error;
  if (!synth::buildModel(o, model, error)) return fail(error);
  const synth::Synthesized s = synth::synthesize(model, o);
  if (!(pcapng ? writePcapng(output, s.link, s.frames, error) : writePcap(output, s.link, s.frames, error))) {
    std::fprintf(stderr, "l7conform synth: %s\n", error.c_str());
    return 1;
  }
  if (!expect.empty()) {
    std::string text;
    for (const auto& r : s.expected) l7::appendRecordJson(r, text);
    std::ofstream out(expect, std::ios::binary | std::ios::trunc);
    if (!(out << text)) {
      std::fprintf(stderr, "l7conform synth: cannot write %s\n", expect.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "wrote %s: %zu packets, %zu expected records (%s version %s, seed %lld%s)\n", output.c_str(),
               s.frames.size(), s.expected.size(), protocol.c_str(), model.version.c_str(),
               static_cast<long long>(seed), drop_one ? ", one packet dropped: expected records assume none is" : "");
  return 0;
}

}  // namespace l7h::cli
