#!/usr/bin/env python3
"""Drives mosquitto on 127.0.0.1 for the captures in corpus/mqtt (see capture.sh).

usage: client.py SCENARIO PORT
"""
import sys
import time

import paho.mqtt.client as mqtt

scenario, port = sys.argv[1], int(sys.argv[2])
PROTOCOLS = {"v31": mqtt.MQTTv31, "v311": mqtt.MQTTv311, "v5": mqtt.MQTTv5}


def connect(client_id, protocol, **kw):
    c = mqtt.Client(client_id=client_id, protocol=protocol, **kw)
    return c


def run_session(name, protocol):
    """Subscribe, publish at QoS 0/1/2 (one retained), receive, unsubscribe."""
    received = []
    c = connect("l7conform-" + name, protocol)
    c.will_set("clients/" + name + "/status", b"gone", qos=1, retain=False)
    c.on_message = lambda cl, ud, msg: received.append(msg.topic)
    if protocol == mqtt.MQTTv5:
        c.connect("127.0.0.1", port, keepalive=30, clean_start=True)
    else:
        c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    time.sleep(0.2)
    c.subscribe([("sensors/+/temp", 2), ("alerts/#", 1)])
    time.sleep(0.2)
    for qos in (0, 1, 2):
        c.publish("sensors/kitchen/temp", payload=b"21.%d" % qos, qos=qos).wait_for_publish()
    c.publish("alerts/fire", payload=b"none", qos=1, retain=True).wait_for_publish()
    time.sleep(0.5)
    c.unsubscribe("alerts/#")
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()


def ping():
    c = connect("l7conform-ping", mqtt.MQTTv311)
    c.connect("127.0.0.1", port, keepalive=1)
    c.loop_start()
    time.sleep(2.6)  # the client pings every keepalive second
    c.disconnect()
    c.loop_stop()


def refused(protocol):
    c = connect("l7conform-refused", protocol)
    c.username_pw_set("alice", "wrong-password")
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    time.sleep(0.5)
    c.loop_stop()


def large():
    c = connect("l7conform-large", mqtt.MQTTv311)
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    time.sleep(0.2)
    c.publish("files/firmware.bin", payload=bytes(range(256)) * 800, qos=1).wait_for_publish()
    time.sleep(0.3)
    c.disconnect()
    c.loop_stop()


if scenario in PROTOCOLS:
    run_session(scenario, PROTOCOLS[scenario])
elif scenario == "ping":
    ping()
elif scenario == "refused-v311":
    refused(mqtt.MQTTv311)
elif scenario == "refused-v5":
    refused(mqtt.MQTTv5)
elif scenario == "large":
    large()
else:
    sys.exit("unknown scenario " + scenario)
