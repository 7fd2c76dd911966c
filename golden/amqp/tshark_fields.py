#!/usr/bin/env python3
"""Compares each capture's records with tshark's AMQP dissection, field by
field, for every method frame that starts a record (requests and one-way
methods; answers are folded into their request's record here):

  request_type      "Class.Method" from tshark's class and method ids
  endpoint          exchange.routing_key, else the queue (§4.4 of
                    deepflow-reference.md; Exchange.Bind/Unbind: ".rk")
  request_domain    tshark's virtual_host of the connection's Connection.Open
  response_code     tshark's reply_code (Connection.Close, Channel.Close,
                    Basic.Return)
  exception/result  tshark's reply_text on those three

and, for content headers, the trace ids of the traceparent / sw8 headers
tshark shows. The rules are restated here from the mapping file, not taken
from the decoder. usage (repo root): golden/amqp/tshark_fields.py [l7conform]
"""
import base64
import collections
import glob
import json
import os
import subprocess
import sys

CLASSES = {10: "Connection", 20: "Channel", 40: "Exchange", 50: "Queue", 60: "Basic", 85: "Confirm", 90: "Tx"}
NAMES = {
    (10, 10): "Start", (10, 11): "StartOk", (10, 20): "Secure", (10, 21): "SecureOk", (10, 30): "Tune",
    (10, 31): "TuneOk", (10, 40): "Open", (10, 41): "OpenOk", (10, 50): "Close", (10, 51): "CloseOk",
    (10, 60): "Blocked", (10, 61): "Unblocked", (10, 70): "UpdateSecret", (10, 71): "UpdateSecretOk",
    (20, 10): "Open", (20, 11): "OpenOk", (20, 20): "Flow", (20, 21): "FlowOk", (20, 40): "Close", (20, 41): "CloseOk",
    (40, 10): "Declare", (40, 11): "DeclareOk", (40, 20): "Delete", (40, 21): "DeleteOk", (40, 30): "Bind",
    (40, 31): "BindOk", (40, 40): "Unbind", (40, 51): "UnbindOk", (50, 10): "Declare", (50, 11): "DeclareOk",
    (50, 20): "Bind", (50, 21): "BindOk", (50, 30): "Purge", (50, 31): "PurgeOk", (50, 40): "Delete",
    (50, 41): "DeleteOk", (50, 50): "Unbind", (50, 51): "UnbindOk", (60, 10): "Qos", (60, 11): "QosOk",
    (60, 20): "Consume", (60, 21): "ConsumeOk", (60, 30): "Cancel", (60, 31): "CancelOk", (60, 40): "Publish",
    (60, 50): "Return", (60, 60): "Deliver", (60, 70): "Get", (60, 71): "GetOk", (60, 72): "GetEmpty", (60, 80): "Ack",
    (60, 90): "Reject", (60, 100): "RecoverAsync", (60, 110): "Recover", (60, 111): "RecoverOk", (60, 120): "Nack",
    (85, 10): "Select", (85, 11): "SelectOk", (90, 10): "Select", (90, 11): "SelectOk", (90, 20): "Commit",
    (90, 21): "CommitOk", (90, 30): "Rollback", (90, 31): "RollbackOk",
}
# Answers: folded into their request's record (GetOk/GetEmpty answer Basic.Get).
ANSWERS = {k for k, v in NAMES.items() if v.endswith("Ok") or v == "GetEmpty"}


def find(node, key):
    """Every value of `key` anywhere under node, in document order."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                out.extend(v if isinstance(v, list) else [v])
            else:
                out.extend(find(v, key))
    elif isinstance(node, list):
        for v in node:
            out.extend(find(v, key))
    return out


def trace_of(headers):
    """(trace ids, span id) from traceparent then sw8, as the mapping says:
    distinct trace ids in that order, the first header's span id."""
    ids, spans = [], []
    if "traceparent" in headers:
        fields = headers["traceparent"].split("-")
        ids.append(fields[1])
        spans.append(fields[2])
    if "sw8" in headers:
        fields = headers["sw8"].split("-")
        ids.append(base64.b64decode(fields[1]).decode())
        spans.append(base64.b64decode(fields[2]).decode() + "-" + fields[3])
    out = []
    for i in ids:
        if i not in out:
            out.append(i)
    return tuple(out), spans[0] if spans else ""


def tshark_traces(pcap):
    """The top-level traceparent / sw8 strings of each content header, from
    tshark's verbose dissection (its JSON leaves field-table values out)."""
    text = subprocess.run(["tshark", "-r", pcap, "-Y", "amqp.type == 2", "-V", "-O", "amqp"], capture_output=True,
                          text=True, check=True).stdout
    for block in text.split("Type: Content header (2)")[1:]:
        headers = {}
        for line in block.splitlines():
            for key in ("traceparent", "sw8"):
                prefix = " " * 12 + key + " (string): "
                if line.startswith(prefix) and key not in headers:
                    headers[key] = line[len(prefix):]
        yield trace_of(headers)


def tshark_frames(pcap):
    out = subprocess.run(["tshark", "-r", pcap, "-Y", "amqp", "-T", "json", "--no-duplicate-keys", "-J", "amqp tcp"],
                         capture_output=True, text=True, check=True).stdout
    for packet in json.loads(out):
        layers = packet["_source"]["layers"]
        stream = layers["tcp"]["tcp.stream"]
        pdus = layers["amqp"] if isinstance(layers["amqp"], list) else [layers["amqp"]]
        for pdu in pdus:
            yield stream, pdu


def main():
    l7 = sys.argv[1] if len(sys.argv) > 1 else "build/l7conform"
    failures = 0
    for pcap in sorted(glob.glob("corpus/amqp/*.pcap")):
        expected = collections.Counter()
        traces = collections.Counter()
        vhost = {}
        # Connections opened with another version's header: their frames
        # are not decoded here (one Protocol-Header record says so).
        headers = subprocess.run(["tshark", "-r", pcap, "-Y", "tcp.len == 8 && tcp.payload[0:4] == 41:4d:51:50",
                                  "-T", "fields", "-e", "tcp.stream", "-e", "tcp.payload"],
                                 capture_output=True, text=True, check=True).stdout
        foreign = {line.split("\t")[0] for line in headers.splitlines()
                   if line.split("\t")[1].replace(":", "") != "414d515000000901"}
        for stream, pdu in tshark_frames(pcap):
            if stream in foreign or pdu.get("amqp.type") != "1":
                continue
            key = (int(pdu["amqp.method.class"]), int(pdu["amqp.method.method"]))
            args = pdu.get("amqp.method.arguments", {})
            get = lambda f: (find(args, "amqp.method.arguments." + f) or [None])[0]
            if key == (10, 40):
                vhost[stream] = get("virtual_host")
            if key in ANSWERS:
                continue
            exchange, rk, queue = get("exchange") or "", get("routing_key") or "", get("queue") or ""
            if key in ((40, 30), (40, 40)):
                exchange = ""  # §4.4: Exchange.Bind/Unbind give only their routing key
            endpoint = queue if not exchange and not rk else exchange + "." + rk
            code = get("reply_code")
            expected[(CLASSES[key[0]] + "." + NAMES[key], endpoint, vhost.get(stream, ""),
                      int(code) if code is not None else None, get("reply_text") or "")] += 1
        for trace in tshark_traces(pcap):
            traces[trace] += 1
        records = [json.loads(l) for l in subprocess.run([l7, "replay", pcap], capture_output=True, text=True,
                                                         check=True).stdout.splitlines()]
        actual = collections.Counter()
        got_traces = collections.Counter()
        for r in records:
            t = r["request_type"]
            if t == "Content-Header":
                got_traces[(tuple(x for x in (r["trace_id"], r["trace_id_2"]) if x), r["span_id"])] += 1
            if "." not in t or r["type"] == 1:
                continue
            closing = t in ("Connection.Close", "Channel.Close", "Basic.Return")
            actual[(t, r["endpoint"], r["request_domain"], r["response_code"] if closing else None,
                    (r["response_exception"] or r["response_result"]) if closing else "")] += 1
        ok = actual == expected and got_traces == traces
        failures += not ok
        print("%-40s %3d method records, %2d content headers: %s" % (os.path.basename(pcap), sum(expected.values()),
                                                                    sum(traces.values()), "agree" if ok else "DIFFER"))
        if not ok:
            print("  tshark only:", expected - actual, traces - got_traces)
            print("  l7conform only:", actual - expected, got_traces - traces)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
