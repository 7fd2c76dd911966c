#!/usr/bin/env python3
"""Counts each capture's AMQP messages with tshark and with l7conform, and
says where a body's frames had other channels' frames between them.

usage: golden/amqp/tshark_counts.py [build/l7conform]   (from the repo root)

tshark's AMQP dissector gives one PDU per frame; the harness gives one
message per frame except bodies (one per message body, whatever number of
frames) and a close with an error that refuses a pending request (two: the
refusal, then its own close request). So the tshark figure compared is
methods + content headers + heartbeats + protocol headers + bodies (content
headers whose body-size is not 0), plus one per refusing close (records
here whose response_code is an error and whose request_type is not a
close or Basic.Return). A broker that took another version's header
(RabbitMQ takes 0-9 and 0-8) answers with a frame tshark dissects as a
method: the harness records that answer as one message and decodes none of
that connection's frames, so the counts agree only while that connection
carries one frame, as in other-protocol-headers.pcap.
"""
import glob
import json
import os
import re
import subprocess
import sys

l7 = sys.argv[1] if len(sys.argv) > 1 else "build/l7conform"
ok = True
for pcap in sorted(glob.glob("corpus/amqp/*.pcap")):
    out = subprocess.run(["tshark", "-r", pcap, "-Y", "amqp", "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport",
                          "-e", "amqp.type", "-e", "amqp.channel", "-e", "amqp.header.body-size"],
                         capture_output=True, text=True, check=True).stdout
    # tshark dissects a protocol header only when it is not 0-9-1's opening:
    # every 8-byte segment starting "AMQP" is counted instead.
    headers = subprocess.run(["tshark", "-r", pcap, "-Y", "tcp.len == 8 && tcp.payload[0:4] == 41:4d:51:50"],
                             capture_output=True, text=True, check=True).stdout
    counts = {"method": 0, "header": 0, "heartbeat": 0, "protocol-header": 0, "body": 0, "body-frames": 0}
    interleaved = 0
    open_body = {}  # (stream, port) -> channel with a body in flight
    for line in out.splitlines():
        cells = (line.split("\t") + [""] * 5)[:5]
        stream, port, types, channels, sizes = cells
        sizes = [s for s in sizes.split(",") if s]
        for t, ch in zip([t for t in types.split(",") if t], channels.split(",")):
            side = (stream, port)
            if open_body.get(side) not in (None, ch):
                interleaved += 1
            if t == "1":
                counts["method"] += 1
                open_body.pop(side, None)
            elif t == "2":
                counts["header"] += 1
                size = int(sizes.pop(0)) if sizes else 0
                if size:
                    counts["body"] += 1
                    open_body[side] = ch
                else:
                    open_body.pop(side, None)
            elif t == "3":
                counts["body-frames"] += 1
            elif t == "8":
                counts["heartbeat"] += 1
    counts["protocol-header"] = len(headers.splitlines())
    replay = subprocess.run([l7, "replay", pcap], capture_output=True, text=True, check=True)
    records = [json.loads(l) for l in replay.stdout.splitlines()]
    refusals = sum(1 for r in records if r["response_code"] not in (None, 200) and
                   r["request_type"] not in ("Connection.Close", "Channel.Close", "Basic.Return"))
    ours = int(re.search(r"^\s+AMQP\s+(\d+)", replay.stderr, re.M).group(1))
    theirs = sum(v for k, v in counts.items() if k != "body-frames") + refusals
    same = ours == theirs
    ok = ok and same
    print("%-40s tshark %4d (methods %d, headers %d, bodies %d in %d frames, heartbeats %d, protocol headers %d, "
          "refusing closes %d)  l7conform %4d  %s%s" % (os.path.basename(pcap), theirs, counts["method"],
                                                     counts["header"], counts["body"], counts["body-frames"],
                                                     counts["heartbeat"], counts["protocol-header"], refusals, ours,
                                                     "equal" if same else "DIFFERENT",
                                                     ", %d frames of another channel inside a body" % interleaved
                                                     if interleaved else ""))
sys.exit(0 if ok else 1)
