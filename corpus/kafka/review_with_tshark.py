#!/usr/bin/env python3
"""Cross-checks golden/kafka/<name>.jsonl against tshark's Kafka dissector,
field by field, for every capture in this folder:

  python3 corpus/kafka/review_with_tshark.py   (from the repository root)

For each request/response (matched by TCP connection and correlation_id)
it compares api key and version, message_size, first topic / partition,
the Produce response's base_offset or the Fetch request's fetch_offset,
the error code, the group id and the traceparent of the first record.
Prints one line per mismatch and a summary; exit status 1 on mismatch."""
import base64
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIELDS = ["tcp.stream", "tcp.srcport", "tcp.dstport", "kafka.len", "kafka.request_key", "kafka.response_key",
          "kafka.request.version", "kafka.response.version", "kafka.correlation_id", "kafka.topic_name",
          "kafka.partition_id", "kafka.offset", "kafka.error", "kafka.consumer_group", "kafka.header_key",
          "kafka.header_value", "kafka.unsupported_api_version"]
NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
         10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
         18: "ApiVersions", 22: "InitProducerId"}


def tshark_messages(pcap):
    port = subprocess.run(["tshark", "-r", str(pcap), "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields",
                           "-e", "tcp.dstport", "-c", "1"], capture_output=True, text=True).stdout.strip()
    args = ["tshark", "-r", str(pcap), "-d", f"tcp.port=={port},kafka", "-Y", "kafka", "-T", "fields",
            "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    messages = []
    for line in out.splitlines():
        cols = dict(zip(FIELDS, line.split("\t")))
        # One packet can carry several Kafka PDUs: tshark joins them; split per correlation id.
        corrs = cols["kafka.correlation_id"].split("|")
        if len(corrs) > 1:
            print(f"note: {pcap.name}: packet with {len(corrs)} PDUs, checked by id only")
        for i, corr in enumerate(corrs):
            m = {k: v.split("|") for k, v in cols.items()}
            m["corr"] = int(corr)
            m["is_request"] = cols["tcp.dstport"] == port
            m["index"] = i
            messages.append(m)
    return port, messages


def first(values, default=""):
    return values[0] if values and values[0] != "" else default


def main():
    mismatches = 0
    checked = 0
    skipped = []
    for pcap in sorted((ROOT / "corpus/kafka").glob("*.pcap")):
        golden = [json.loads(l) for l in (ROOT / "golden/kafka" / (pcap.stem + ".jsonl")).read_text().splitlines()]
        port, messages = tshark_messages(pcap)
        by_key = {}
        for m in messages:
            client_port = m["tcp.srcport"][0] if m["is_request"] else m["tcp.dstport"][0]
            by_key.setdefault((int(client_port), m["corr"]), {})["req" if m["is_request"] else "resp"] = m
        for r in golden:
            key = (r["client_port"], r["request_id"])
            pair = by_key.get(key, {})
            req, resp = pair.get("req"), pair.get("resp")

            def check(what, ours, theirs):
                nonlocal mismatches, checked
                checked += 1
                if str(ours) != str(theirs):
                    mismatches += 1
                    print(f"MISMATCH {pcap.name} port {key[0]} corr {key[1]} {r['request_type']} {what}: "
                          f"golden {ours!r} tshark {theirs!r}")

            if req is None:
                check("request present", "yes", "no")
                continue
            # tshark 4.0 dissects Produce v0-8, Fetch v0-11, JoinGroup v0-7,
            # LeaveGroup v0-4, ApiVersions v0-3: beyond that it says so, and
            # only the header (key, version, length) is compared.
            # (An ApiVersions response is flagged for the versions it lists;
            # only its header fields are compared anyway.)
            header_only = int(req["kafka.request_key"][0]) != 18 and any(
                m is not None and m["kafka.unsupported_api_version"] != [""] for m in (req, resp))
            if header_only:
                skipped.append(f"{pcap.name} {r['request_type']} v{r['version']}")
            api_key = int(req["kafka.request_key"][0])
            check("request_type", r["request_type"], NAMES.get(api_key, str(api_key)))
            check("version", r["version"], req["kafka.request.version"][0])
            if len(req["kafka.len"]) == 1:
                check("request_length", r["request_length"], req["kafka.len"][0])
            if resp is not None and len(resp["kafka.len"]) == 1:
                check("response_length", r["response_length"], resp["kafka.len"][0])
            if header_only:
                continue
            if api_key in (0, 1) and len(req["kafka.correlation_id"]) == 1:
                topic = first(req["kafka.topic_name"])
                part = first(req["kafka.partition_id"])
                check("request_domain", r["request_domain"], topic)
                check("endpoint", r["endpoint"], f"{topic}-{part}" if topic else "")
                if api_key == 1 and topic:
                    check("request_resource", r["request_resource"], f"{topic}-{part}:{first(req['kafka.offset'])}")
                if api_key == 0 and resp is not None and len(resp["kafka.correlation_id"]) == 1:
                    check("request_resource", r["request_resource"], f"{topic}-{part}:{first(resp['kafka.offset'])}")
                # Trace ids of the first record: the request's records for
                # Produce, the response's for Fetch. tshark prints header
                # values as hex bytes and leaves sw8 encoded.
                carrier = req if api_key == 0 else resp
                if carrier is not None and len(carrier["kafka.correlation_id"]) == 1:
                    headers = [(k, bytes.fromhex(v).decode()) for k, v in
                               zip(carrier["kafka.header_key"], carrier["kafka.header_value"]) if k]
                    tp = next((v for k, v in headers if k == "traceparent"), "")
                    sw8 = next((v for k, v in headers if k == "sw8"), "")
                    expected = []
                    if tp:
                        expected.append(tp.split("-")[1])
                    if sw8:
                        expected.append(base64.b64decode(sw8.split("-")[1]).decode())
                    check("trace ids of the first record", [r["trace_id"], r["trace_id_2"]][:len(expected)], expected)
            if api_key in (0, 1, 11, 13, 14) and resp is not None and len(resp["kafka.correlation_id"]) == 1:
                codes = [int(c) for c in resp["kafka.error"] if c != ""]
                code = next((c for c in codes if c != 0), 0 if codes else None)
                check("response_code", r["response_code"], code)
            if api_key in (11, 13, 14):
                names = r["attribute_names"]
                ours = r["attribute_values"][names.index("group_id")] if "group_id" in names else ""
                check("group_id", ours, first(req["kafka.consumer_group"]))
    if skipped:
        print(f"header only (version beyond tshark's dissector): {len(skipped)}: " + ", ".join(sorted(set(skipped))))
    print(f"{checked} field comparisons, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
