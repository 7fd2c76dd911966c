#!/usr/bin/env python3
"""Builds the fuzz seed corpora from the project's own captures (corpus/).

  fuzz/corpus/fuzz_pcap/<proto>-<name>.pcap   the capture itself
  fuzz/corpus/fuzz_<proto>/<name>-<flow>.bin  each TCP connection as the chunk
                                              format of stream_input.h: one
                                              chunk per TCP payload, in capture
                                              order, with its direction bit

Standard library only. Captures are the project's own clean loopback ones,
so payloads are taken in capture order without reassembly. When a libFuzzer
build exists (build-fuzz/fuzz/fuzz_<proto>), run with --merge to minimize.
"""
import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEPARATOR = b"\xf0L7\x0f"


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        return  # pcapng or other: not needed for our own captures
    linktype = struct.unpack("<I", data[20:24])[0]
    pos = 24
    while pos + 16 <= len(data):
        _, _, caplen, _ = struct.unpack("<IIII", data[pos:pos + 16])
        yield linktype, data[pos + 16:pos + 16 + caplen]
        pos += 16 + caplen


def tcp_of(linktype, frame):
    if linktype == 1:  # Ethernet (+VLAN)
        off, etype = 12, struct.unpack(">H", frame[12:14])[0]
        while etype in (0x8100, 0x88A8):
            off += 4
            etype = struct.unpack(">H", frame[off:off + 2])[0]
        ip = frame[off + 2:]
    elif linktype == 113:
        ip = frame[16:]
    elif linktype == 0:
        ip = frame[4:]
    else:
        ip = frame
    if not ip:
        return None
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        if ip[9] != 6:
            return None
        src, dst, seg = ip[12:16], ip[16:20], ip[ihl:total]
    elif ip[0] >> 4 == 6:
        if ip[6] != 6:
            return None
        src, dst, seg = ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    sport, dport = struct.unpack(">HH", seg[:4])
    flags = seg[13]
    payload = seg[(seg[12] >> 4) * 4:]
    return (src, sport), (dst, dport), flags, payload


def stream_seeds(path):
    flows = {}
    for linktype, frame in packets(path):
        t = tcp_of(linktype, frame)
        if t is None:
            continue
        a, b, flags, payload = t
        key = tuple(sorted([a, b]))
        flow = flows.setdefault(key, {"client": None, "chunks": []})
        if flow["client"] is None and (flags & 0x12) == 0x02:
            flow["client"] = a
        if flow["client"] is None and payload:
            flow["client"] = a
        if payload:
            direction = 0 if a == flow["client"] else 1
            flow["chunks"].append(bytes([direction]) + payload)
    for i, flow in enumerate(flows.values(), 1):
        if flow["chunks"]:
            yield i, SEPARATOR.join(flow["chunks"])


def main():
    merge = "--merge" in sys.argv
    corpus = os.path.join(ROOT, "corpus")
    for proto in sorted(os.listdir(corpus)):
        folder = os.path.join(corpus, proto)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".pcap"):
                continue
            path = os.path.join(folder, name)
            stem = name[:-5]
            out = os.path.join(ROOT, "fuzz", "corpus", "fuzz_" + proto)
            os.makedirs(out, exist_ok=True)
            for flow, seed in stream_seeds(path):
                with open(os.path.join(out, "%s-%d.bin" % (stem, flow)), "wb") as f:
                    f.write(seed)
            pcap_out = os.path.join(ROOT, "fuzz", "corpus", "fuzz_pcap")
            os.makedirs(pcap_out, exist_ok=True)
            with open(path, "rb") as src, open(os.path.join(pcap_out, "%s-%s.pcap" % (proto, stem)), "wb") as dst:
                dst.write(src.read())
    if merge:
        build = os.path.join(ROOT, "build-fuzz", "fuzz")
        for target in sorted(os.listdir(os.path.join(ROOT, "fuzz", "corpus"))):
            binary = os.path.join(build, target)
            if not os.path.exists(binary):
                continue
            seeds = os.path.join(ROOT, "fuzz", "corpus", target)
            merged = seeds + ".merged"
            os.makedirs(merged, exist_ok=True)
            subprocess.run([binary, "-merge=1", merged, seeds], check=True, capture_output=True)
            for f in os.listdir(seeds):
                os.remove(os.path.join(seeds, f))
            for f in os.listdir(merged):
                os.rename(os.path.join(merged, f), os.path.join(seeds, f))
            os.rmdir(merged)
            print("minimized", target, len(os.listdir(seeds)), "seeds")


if __name__ == "__main__":
    main()
