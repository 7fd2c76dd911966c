#!/usr/bin/env python3
"""Reviews the OpenWire goldens against tshark's OpenWire dissector.

tshark dissects loose, size-prefixed OpenWire only. For every such capture
in corpus/openwire this compares, command by command, what tshark sees with
what this harness decodes (its records, from golden/openwire/*.jsonl):

- the number of commands (tshark's `openwire.command` occurrences; ours:
  one per record, two per merged request/response record);
- the command types, requests (command id, response_required) and the
  Response correlation ids: every request with response_required that
  tshark sees answered is a merged record here with that request id;
- broker URLs, JMS correlation ids and exception messages.

Tight captures are reviewed against the same scenario's loose capture:
the same sequence of request types and destinations. Prints one line per
capture and exits non-zero on any difference. Run from the repo root.
"""
import collections
import glob
import json
import os
import shutil
import subprocess
import sys

NAMES = {
    1: "WireFormatInfo", 2: "BrokerInfo", 3: "ConnectionInfo", 4: "SessionInfo", 5: "ConsumerInfo",
    6: "ProducerInfo", 7: "TransactionInfo", 8: "DestinationInfo", 9: "RemoveSubscriptionInfo",
    10: "KeepAliveInfo", 11: "ShutdownInfo", 12: "RemoveInfo", 14: "ControlCommand", 15: "FlushCommand",
    16: "ConnectionError", 17: "ConsumerControl", 18: "ConnectionControl", 19: "ProducerAck",
    20: "MessagePull", 21: "MessageDispatch", 22: "MessageAck", 23: "ActiveMQMessage",
    24: "ActiveMQBytesMessage", 25: "ActiveMQMapMessage", 26: "ActiveMQObjectMessage",
    27: "ActiveMQStreamMessage", 28: "ActiveMQTextMessage", 29: "ActiveMQBlobMessage", 30: "Response",
    31: "ExceptionResponse", 32: "DataResponse", 33: "DataArrayResponse", 34: "IntegerResponse",
}
RESPONSES = {30, 31, 32, 33, 34}
FIELDS = ["openwire.command", "openwire.command.id", "openwire.command.response_required",
          "openwire.response.correlationid", "openwire.brokerinfo.brokerurl", "openwire.message.correlationid",
          "openwire.throwable.message"]


def tshark(pcap):
    """Per capture: tshark's commands, requests, answered ids, URLs, JMS
    correlation ids, exception messages, and its own dissection warnings."""
    warnings = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==61717,openwire", "-Y",
                               "_ws.expert.message contains \"OpenWire encoding not supported\" || _ws.expert.message contains \"OpenWire type not supported\""],
                              capture_output=True, text=True).stdout.count("\n")
    out = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==61717,openwire", "-d", "tcp.port==61718,openwire",
                          "-Y", "openwire", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"] +
                         sum([["-e", f] for f in FIELDS], []), capture_output=True, text=True, check=True).stdout
    commands, requests, answered = [], collections.Counter(), set()
    urls, corr, errors = set(), set(), collections.Counter()
    for line in out.splitlines():
        cols = (line.split("\t") + [""] * len(FIELDS))[:len(FIELDS)]
        types = [int(t) for t in cols[0].split("|") if t]
        ids = [int(i) for i in cols[1].split("|") if i]
        required = [r in ("1", "True") for r in cols[2].split("|") if r]
        # WireFormatInfo has no command id: ids line up with the other commands.
        based = [t for t in types if t != 1]
        for t, i, r in zip(based, ids, required):
            if t not in RESPONSES:
                requests[(NAMES.get(t, str(t)), i, r)] += 1
        answered.update(int(c) for c in cols[3].split("|") if c)
        commands += types
        urls.update(u for u in cols[4].split("|") if u)
        corr.update(c for c in cols[5].split("|") if c)
        errors.update(e for e in cols[6].split("|") if e)
    return commands, requests, answered, urls, corr, errors, warnings


def ours(golden):
    records = [json.loads(l) for l in open(golden) if l.strip()]
    return records


def review_loose(pcap, golden):
    commands, requests, answered, urls, corr, errors, warnings = tshark(pcap)
    records = ours(golden)
    problems, notes = [], []
    # After "OpenWire encoding not supported" (a marshal-cache index in a
    # message) tshark's dissection of that segment goes astray and can read
    # command types that do not exist: those are its misreadings, counted
    # and left out.
    bogus = [t for t in commands if t not in NAMES]
    if bogus:
        notes.append(f"tshark misread {len(bogus)} non-commands (types {sorted(set(bogus))})")
        commands = [t for t in commands if t in NAMES]
        requests = collections.Counter({k: n for k, n in requests.items() if k[0] in NAMES.values()})
    if warnings:
        notes.append(f"{warnings} packets tshark could not dissect to the end (a cache index, or a message body it "
                     "does not support): correlation ids and exceptions not compared")
    merged = sum(1 for r in records if r["type"] == 2 and r["captured_request_byte"] > 0 and
                 r["captured_response_byte"] > 0)
    count = len(records) + merged
    if count != len(commands):
        problems.append(f"commands: tshark {len(commands)}, ours {count}")
    want = collections.Counter(NAMES.get(t, str(t)) for t in commands if t not in RESPONSES)
    got = collections.Counter(r["request_type"] for r in records if r["type"] != 1)
    if want != got:
        problems.append(f"types differ: tshark-only {want - got}, ours-only {got - want}")
    # Requests: type, id; answered ones are merged (type 2 with response bytes).
    ours_req = collections.Counter()
    for r in records:
        if r["type"] == 1 or r["request_type"] == "WireFormatInfo":
            continue
        ours_req[(r["request_type"], r["request_id"])] += 1
    want_req = collections.Counter((t, i) for (t, i, _), n in requests.items() for _ in range(n))
    if ours_req != want_req:
        problems.append(f"requests differ: tshark-only {want_req - ours_req}, ours-only {ours_req - want_req}")
    for r in records:
        if r["type"] == 0:
            problems.append(f"{r['request_type']} {r['request_id']} unanswered here")
    want_answered = {i for (t, i, req) in requests if req and i in answered}
    got_answered = {r["request_id"] for r in records if r["type"] == 2 and r["captured_response_byte"] > 0
                    and r["captured_request_byte"] > 0}
    if not want_answered <= got_answered:
        problems.append(f"answered requests not merged: {sorted(want_answered - got_answered)}")
    got_urls = {r["request_domain"] for r in records if r["request_type"] == "BrokerInfo"}
    if urls != got_urls:
        problems.append(f"broker urls: tshark {urls}, ours {got_urls}")
    got_corr = {r[k] for r in records for k in ("x_request_id_0", "x_request_id_1") if r[k]}
    if not warnings and corr != got_corr:
        problems.append(f"JMS correlation ids: tshark {corr}, ours {got_corr}")
    got_errors = collections.Counter(r["response_exception"].split(": ", 1)[-1] for r in records
                                     if r["response_exception"])
    if not warnings and errors != got_errors:
        problems.append(f"exception messages: tshark {dict(errors)}, ours {dict(got_errors)}")
    return len(commands), problems, notes


def shape(golden):
    # Order-free: the two runs interleave the sides' commands differently.
    # Temporary destinations and advisory topics carry per-run ids.
    def resource(r):
        return "ID:<temp>" if r["request_resource"].startswith("ID:") else r["request_resource"]
    return sorted((r["request_type"], r["type"], resource(r), r["x_request_id_0"], r["x_request_id_1"], r["trace_id"],
                   r["trace_id_2"], r["span_id"], r["response_exception"]) for r in ours(golden)
                  if r["request_type"] != "WireFormatInfo")


def main():
    if shutil.which("tshark") is None:
        print("SKIPPED: tshark is not installed (apt-get install tshark)")
        return 0
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    failed = False
    for pcap in sorted(glob.glob("corpus/openwire/*.pcap")):
        name = os.path.basename(pcap)[:-5]
        golden = f"golden/openwire/{name}.jsonl"
        if not os.path.exists(golden):
            print(f"{name}: no golden")
            failed = True
            continue
        if name.startswith("loose-") and "noprefix" not in name:
            n, problems, notes = review_loose(pcap, golden)
            print(f"{name}: tshark {n} commands, " + ("agrees" if not problems else "; ".join(problems)) +
                  "".join(f" ({note})" for note in notes))
            failed |= bool(problems)
        elif name.startswith("tight-"):  # tshark cannot read tight encoding
            twin = f"golden/openwire/loose-{name[6:]}.jsonl"
            if not os.path.exists(twin):
                print(f"{name}: no loose twin, reviewed by reading")
                continue
            a, b = collections.Counter(shape(golden)), collections.Counter(shape(twin))
            if a == b:
                print(f"{name}: same records as its loose twin (order aside)")
            else:
                # Two runs of a real client against a real broker: what one run
                # did and the other did not is listed for the reader.
                print(f"{name}: differs from its loose twin (another run): tight-only {sorted(a - b)}, "
                      f"loose-only {sorted(b - a)}")
        else:
            print(f"{name}: no size prefix (tshark cannot dissect it), reviewed against its prefixed twin")
            twin = f"golden/openwire/{name.replace('-noprefix', '')}.jsonl"
            if os.path.exists(twin):
                # The same client scenario: the same request types and destinations.
                a = shape(golden)
                b = shape(twin)
                print(f"  {'same' if a == b else 'DIFFERENT'} types and destinations as {os.path.basename(twin)}")
                failed |= a != b
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
