#!/usr/bin/env python3
"""Reviews the ZMTP goldens against what the capture scripts logged as sent.

  corpus/zmtp/review.py            (from anywhere; exit 1 on a disagreement)

tshark has no ZMTP dissector, so each golden/zmtp/NAME.jsonl is checked
against corpus/zmtp/NAME.log (client.py / client.mjs: side, socket type,
parts, bytes, on-wire, note), by the RFCs' rules for what reaches the wire:

- every message logged on the wire is one record on its side, in order, its
  length the logged bytes (REQ/REP delimiters have none); a REQ's request and
  the reply to it are one record (type 2) with both lengths;
- a SUB's subscriptions go out as SUBSCRIBE / CANCEL commands (ZMTP 3.1 on
  both sides, which libzmq 4.3 is), with the logged topic;
- under CURVE each frame is one MESSAGE (RFC 26): a logged message of N
  parts is N MESSAGE records, plus the delimiter a REQ or REP adds;
- each connection has two greetings, and its handshake commands.
Standard library only. Prints one line per capture.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.path.dirname(os.path.dirname(HERE)), "golden", "zmtp")


def sent(path):
    out = []
    with open(path) as f:
        for line in f:
            side, sock, parts, size, on_wire, _note = line.rstrip("\n").split("\t")
            if on_wire == "1":
                out.append((side, sock, int(parts), int(size)))
    return out


def review(name):
    log = sent(os.path.join(HERE, name + ".log"))
    records = [json.loads(l) for l in open(os.path.join(GOLDEN, name + ".jsonl"))]
    problems = []
    greetings = [r for r in records if r["request_type"] == "Greeting"]
    if len(greetings) != 2:
        problems.append(f"{len(greetings)} greetings, not 2")
    if any(r["response_status"] == 6 for r in records):
        problems.append("a parse failure")
    curve = any(a == "CURVE" for r in greetings for a in r["attribute_values"])
    if curve:
        want = sum(p + (1 if sock in ("REQ", "REP") else 0) for _, sock, p, _ in log)
        got = sum(1 for r in records if r["request_type"] == "Command MESSAGE")
        if want != got:
            problems.append(f"{got} CURVE MESSAGE records, {want} frames sent")
        return problems, got, want
    subs = [(s, sock, p, n) for s, sock, p, n in log if sock == "SUB"]
    data = [(s, sock, p, n) for s, sock, p, n in log if sock != "SUB"]
    # Our records' message lengths, per side, in record order.
    got = {"client": [], "server": []}
    for r in records:
        if not r["request_type"].startswith("Message"):
            continue
        if r["request_length"] is not None:
            got["client"].append(r["request_length"])
        if r["response_length"] is not None:
            got["server"].append(r["response_length"])
    for side in ("client", "server"):
        want = [n for s, _, _, n in data if s == side]
        if sorted(want) != sorted(got[side]):
            problems.append(f"{side}: message lengths {got[side]}, sent {want}")
    sub_records = [r for r in records if r["request_type"] in ("Command SUBSCRIBE", "Command CANCEL")]
    if len(sub_records) != len(subs):
        problems.append(f"{len(sub_records)} subscription commands, {len(subs)} subscriptions sent")
    pairs = [r for r in records if r["request_type"] == "Message" and r["type"] == 2
             and r["request_length"] is not None and r["response_length"] is not None]
    asks = sum(1 for _, sock, _, _ in data if sock == "REQ")
    if asks and len(pairs) != asks:
        problems.append(f"{len(pairs)} request/reply sessions, {asks} requests sent")
    messages = len(data) + len(subs)
    # A request and its reply are one record carrying both lengths: each
    # message is counted once, by its length on its side.
    return problems, sum(len(v) for v in got.values()) + len(sub_records), messages


def main():
    names = sorted(f[:-4] for f in os.listdir(HERE) if f.endswith(".log"))
    failed = False
    for name in names:
        problems, records, logged = review(name)
        status = "ok" if not problems else "DISAGREES: " + "; ".join(problems)
        print(f"{name:24} {records:4} messages in records, {logged:4} sent   {status}")
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


main()
