#!/usr/bin/env python3
"""Builds the fuzz seed corpora from the project's own captures (corpus/).

  fuzz/corpus/fuzz_pcap/<proto>-<name>.pcap   the capture itself
  fuzz/corpus/fuzz_<proto>/<name>-<flow>.bin  each TCP connection as the chunk
                                              format of stream_input.h: one
                                              chunk per TCP payload, in capture
                                              order, with its direction bit
  fuzz/corpus/fuzz_tracectx/<kind>-<n>        every traceparent / sw8 value
                                              found in the captures' payloads and
                                              in corpus/skywalking, plus the
                                              shapes the specs give as examples
  fuzz/corpus/fuzz_skywalking_json/<name>     corpus/skywalking/*.json as is
  fuzz/corpus/fuzz_roundtrip_<proto>/v<i>-<k> the round-trip input (version
                                              index, model seed, length, split
                                              points) for every version the
                                              matrix (golden/versions.md) lists
  fuzz/corpus/fuzz_<proto>/hostile-<shape>.bin the hostile inputs of
                                              bench/hostile_bench.cc (and
                                              hostile_pulsar below), 64 KiB
                                              long (longer than max_len:
                                              libFuzzer reads a prefix, ctest
                                              replays them whole), shaped for
                                              the 64 KiB frame and 4096-byte
                                              line caps fuzz_stream.cc had
                                              until issue 20

Standard library only. Captures are the project's own clean loopback ones,
so payloads are taken in capture order without reassembly. When a libFuzzer
build exists (build-fuzz/fuzz/fuzz_<proto>), run with --merge to minimize,
together with what ./run fuzz found (build-fuzz/fuzz-work/<target>).
"""
import os
import re
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


# A version-00 value ends at its flags; later versions may add "-field"s.
TRACEPARENT = re.compile(rb"[0-9a-fA-F]{2}-[0-9a-fA-F]{32}-[0-9a-fA-F]{16}-[0-9a-fA-F]{2}(?:-[0-9A-Za-z]+)*")
SW8 = re.compile(rb"[01]-[A-Za-z0-9+/=]{4,}-[A-Za-z0-9+/=]{4,}-[0-9]+-[A-Za-z0-9+/=]+-[A-Za-z0-9+/=]+-[A-Za-z0-9+/=]+-[A-Za-z0-9+/=]+")
# Shapes from the W3C and SkyWalking documents that the captures may lack:
# a future version with trailing fields, a sampled-off flag, a short sw8.
SPEC_TRACE_VALUES = [
    b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    b"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what",
    b"1-My40LjU=-MS4yLjM=-4-c2VydmljZQ==-aW5zdGFuY2U=-L2FwcA==-MTI3LjAuMC4xOjgwODA=",
    b"1-My40LjU=-MS",
]


def trace_seeds(blobs):
    """Every traceparent / sw8 value in the given byte strings, deduplicated."""
    found = {}
    for blob in blobs:
        for kind, pattern in (("traceparent", TRACEPARENT), ("sw8", SW8)):
            for m in pattern.finditer(blob):
                found.setdefault(m.group(0), kind)
    for value in SPEC_TRACE_VALUES:
        found.setdefault(value, "spec")
    counters = {}
    for value, kind in sorted(found.items(), key=lambda kv: (kv[1], kv[0])):
        counters[kind] = counters.get(kind, 0) + 1
        yield "%s-%d" % (kind, counters[kind]), value


def synthesized_versions():
    """Versions per synthesizer protocol, counted from golden/versions.md."""
    counts = {}
    with open(os.path.join(ROOT, "golden", "versions.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and cells[3] == "yes" and cells[0] not in ("protocol", "---"):
                counts[cells[0].lower()] = counts.get(cells[0].lower(), 0) + 1
    return counts


def roundtrip_seed(version_index, k):
    """fuzz_roundtrip.cc's input: version byte, 8-byte model seed, length byte,
    then split-point bytes; deterministic so the corpus is reproducible."""
    state = (version_index * 7919 + k * 104729 + 1) & 0xFFFFFFFFFFFFFFFF
    out = bytearray([version_index & 0xFF])
    out += struct.pack(">Q", (state * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    out.append((5 + 11 * k) & 0xFF)
    for _ in range(48):
        state = (state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        out.append(state >> 56)
    return bytes(out)


# The chunk format's actions (stream_input.h).
DATA, GAP, EOF = 0, 1, 2


def chunk(direction, action, payload=b""):
    return bytes([direction | (action << 1)]) + payload


# The hostile seeds keep the length they were designed at (issue 14), not
# the targets' max_len (1024 to 4096, each target's .options).
HOSTILE_SIZE = 65536


def sent(direction, data, piece, budget, chunks):
    """`data` as data chunks of `piece` bytes, as many as fit in `budget`
    input bytes and the chunk limit (stream_input.h: 512, some kept for
    gaps and ends)."""
    for pos in range(0, len(data), piece):
        part = data[pos:pos + piece]
        if budget < len(part) + 5 or len(chunks) >= 500:
            break
        chunks.append(chunk(direction, DATA, part))
        budget -= len(part) + 5
    return budget


def joined(chunks):
    return [chunk(0, GAP), chunk(1, GAP)] + chunks


def ended(chunks):
    return chunks + [chunk(0, EOF), chunk(1, EOF)]


def mqtt_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def hostile_mqtt(size):
    """fuzz_stream.cc holds at most 64 KiB per frame: a false PUBLISH claims
    just under that, more than the PINGREQs (PINGRESPs) behind it fill."""
    seeds = {}
    for name, direction, ping in (("false-publish-pingreqs", 0, b"\xc0\x00"),
                                  ("false-publish-pingresps", 1, b"\xd0\x00")):
        header = b"\x30" + mqtt_varint(65530)
        # Whole packets only, all sent: room for the chunks' own bytes.
        room = size - 40 - 5 * (size // 1460 + 1) - len(header)
        wire = header + ping * (room // 2)
        chunks = []
        sent(direction, wire, 1460, size - 40, chunks)
        assert sum(len(c) - 1 for c in chunks) == len(wire)
        seeds[name] = ended(joined(chunks))
    subscribe = b"\x82" + mqtt_varint(20000) + bytes(20000)
    chunks = []
    sent(0, subscribe * 4, 1460, size - 40, chunks)
    seeds["zero-subscribes"] = ended(joined(chunks))
    chunks = []
    sent(0, (b"\x82" + mqtt_varint(60000) + b"\x00\x00") * (size // 6), 1460, size - 40, chunks)
    seeds["back-to-back-subscribe-headers"] = ended(joined(chunks))
    return seeds


def be16(v):
    return struct.pack(">H", v & 0xFFFF)


def be32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def produce_header(claimed, correlation_id, name_length, topics):
    return (be32(claimed) + be16(0) + be16(3) + be32(correlation_id) + be16(1) + b"c" + be16(0xFFFF) + be16(1) +
            be32(1000) + be32(topics) + be16(name_length))


def hostile_kafka(size):
    """Caps of fuzz_stream.cc: frames up to 1 MiB, arrays up to 1000, 64
    pending requests."""
    seeds = {}
    inner = 32
    header = len(produce_header(0, 0, 0, 0))
    request = produce_header(1000000, 1, inner * header, 1000)
    for k in range(1, inner + 1):
        request += produce_header(1000000, 1 + k, (inner - k) * header, 1000)
    request += be32(1000) + bytes(size)
    chunks = []
    budget = size - 40
    for pos in range(0, len(request), 100):
        if budget < 111 or len(chunks) >= 500:
            break
        chunks += [chunk(0, DATA, request[pos:pos + 100]), chunk(1, DATA, b"\x00")]
        budget -= 111
    seeds["false-produce-headers-in-topic"] = ended(joined(chunks))
    requests = b"".join(be32(11) + be16(18) + be16(0) + be32(corr) + be16(1) + b"c" for corr in range(1, 65))
    chunks = [chunk(0, DATA, requests), chunk(1, GAP)]
    sent(1, b"\x01" * size, 1460, size - len(requests) - 40, chunks)
    seeds["response-resync-64-pending"] = ended(chunks)
    return seeds


def hostile_nats(size):
    """Caps of fuzz_stream.cc: control lines up to 4096 bytes, frames up to
    64 KiB."""
    seeds = {}
    claim = size // 4
    while True:
        unit = b"MSG a 1 %d\r\nPING\r\n" % claim
        end = (unit.index(b"\n") + 1 + claim) % len(unit)
        if unit[end:end + 1] != b"\r" or unit[(end + 1) % len(unit):(end + 1) % len(unit) + 1] != b"\n":
            break
        claim += 1
    chunks = []
    sent(1, unit * (size // len(unit)), len(unit) * 6, size - 40, chunks)
    seeds["false-msg-claims"] = ended(joined(chunks))
    line = b"PUB " + b"x" * (4096 - 8) + b"\r\n"
    chunks = []
    sent(0, line * (size // len(line) + 1), 120, size - 40, chunks)
    seeds["long-lines"] = ended(chunks)
    return seeds


def pb_varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def hostile_pulsar(size):
    """Frames whose sizes pass the resync grammar's first look and fail it
    later (every position judged once), and one command nesting unknown
    length-delimited fields as deep as the input allows (skipped as bytes,
    never descended)."""
    seeds = {}
    # totalSize just over the command, a known type, a sub-message tag that
    # does not match: each start is plausible for 12 bytes, then refused.
    unit = be32(20) + be32(12) + b"\x08\x06\x3a" + b"\x00" * 13
    chunks = []
    sent(0, unit * (size // len(unit)), len(unit) * 8, size - 40, chunks)
    seeds["false-frame-starts"] = ended(joined(chunks))
    nested = b"x"
    while len(nested) < size - 200:
        nested = b"\xa2\x01" + pb_varint(len(nested)) + nested
    sub = b"\x0a\x01t" + nested + b"\x10\x00\x18\x00"
    command = b"\x08\x05\x2a" + pb_varint(len(sub)) + sub
    frame = be32(len(command) + 4) + be32(len(command)) + command
    chunks = []
    sent(0, frame, 1000, size - 40, chunks)
    seeds["nested-unknown-fields"] = ended(chunks)
    return seeds


def hostile_seeds():
    """(target, name, input) of every hostile shape."""
    for proto, build in (("mqtt", hostile_mqtt), ("kafka", hostile_kafka), ("nats", hostile_nats),
                         ("pulsar", hostile_pulsar)):
        target = "fuzz_" + proto
        size = HOSTILE_SIZE
        for name, chunks in build(size).items():
            data = SEPARATOR.join(chunks)
            assert len(data) <= size, (target, name, len(data))
            yield target, "hostile-%s.bin" % name, data


def write_seed(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    merge = "--merge" in sys.argv
    seeds_root = os.path.join(ROOT, "fuzz", "corpus")
    payload_blobs = []
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
                payload_blobs.append(seed)
                with open(os.path.join(out, "%s-%d.bin" % (stem, flow)), "wb") as f:
                    f.write(seed)
            pcap_out = os.path.join(ROOT, "fuzz", "corpus", "fuzz_pcap")
            os.makedirs(pcap_out, exist_ok=True)
            with open(path, "rb") as src, open(os.path.join(pcap_out, "%s-%s.pcap" % (proto, stem)), "wb") as dst:
                dst.write(src.read())
    skywalking = os.path.join(corpus, "skywalking")
    if os.path.isdir(skywalking):
        for name in sorted(os.listdir(skywalking)):
            if name.endswith(".json"):
                with open(os.path.join(skywalking, name), "rb") as f:
                    body = f.read()
                payload_blobs.append(body)
                write_seed(os.path.join(seeds_root, "fuzz_skywalking_json"), name, body)
    for name, value in trace_seeds(payload_blobs):
        write_seed(os.path.join(seeds_root, "fuzz_tracectx"), name, value)
    for proto, count in sorted(synthesized_versions().items()):
        for i in range(count):
            for k in range(2):
                write_seed(os.path.join(seeds_root, "fuzz_roundtrip_" + proto), "v%d-%d" % (i, k), roundtrip_seed(i, k))
    if merge:
        build = os.path.join(ROOT, "build-fuzz", "fuzz")
        for target in sorted(os.listdir(os.path.join(ROOT, "fuzz", "corpus"))):
            binary = os.path.join(build, target)
            if not os.path.exists(binary):
                continue
            seeds = os.path.join(ROOT, "fuzz", "corpus", target)
            merged = seeds + ".merged"
            os.makedirs(merged, exist_ok=True)
            # What local fuzzing found (./run fuzz keeps it there) joins the
            # merge: only inputs that add coverage survive.
            found = os.path.join(ROOT, "build-fuzz", "fuzz-work", target)
            sources = [seeds] + ([found] if os.path.isdir(found) else [])
            subprocess.run([binary, "-merge=1", merged] + sources, check=True, capture_output=True)
            for f in os.listdir(seeds):
                os.remove(os.path.join(seeds, f))
            for f in os.listdir(merged):
                os.rename(os.path.join(merged, f), os.path.join(seeds, f))
            os.rmdir(merged)
            print("minimized", target, len(os.listdir(seeds)), "seeds")
    # After the merge: they are kept for their shape (inputs that must take
    # linear time), which coverage does not see.
    for target, name, data in hostile_seeds():
        write_seed(os.path.join(seeds_root, target), name, data)


if __name__ == "__main__":
    main()
