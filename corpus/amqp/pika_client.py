#!/usr/bin/env python3
"""Drives rabbitmq-server on 127.0.0.1 with Pika for corpus/amqp (see capture.sh).

usage: pika_client.py SCENARIO PORT
"""
import datetime
import decimal
import socket
import sys
import time

import pika

scenario, port = sys.argv[1], int(sys.argv[2])
TRACE = {
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "sw8": "1-NGJmOTJmMzU3N2IzNGRhNmEzY2U5MjlkMGUwZTQ3MzY=-MWYyZDM0NTY3ODkw-3-c2VydmljZQ==-aW5zdGFuY2U=-L3B1Ymxpc2g=-MTI3LjAuMC4xOjU2NzI=",
}


def connect(**kw):
    params = pika.ConnectionParameters("127.0.0.1", port, **kw)
    return pika.BlockingConnection(params)


def publish_consume():
    """Declare an exchange and a queue, bind, publish with trace headers
    (and nested tables and arrays), consume and ack, cancel."""
    c = connect()
    ch = c.channel()
    ch.exchange_declare("orders", exchange_type="topic", durable=False, auto_delete=True)
    ch.queue_declare("orders.created", auto_delete=False)
    ch.queue_bind("orders.created", "orders", routing_key="order.created")
    headers = dict(TRACE)
    headers.update({"attempt": 1, "price": decimal.Decimal("2.50"), "at": datetime.datetime(2026, 1, 1), "raw": b"\x00\x01", "ok": True, "tags": ["a", 2, None],
                    "nested": {"depth": {"deeper": 3}}, "big": 2**40})
    for i in range(3):
        ch.basic_publish("orders", "order.created", b'{"id": %d}' % i,
                         pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                              message_id="m-%d" % i, headers=headers))
    got = []

    def on_message(chan, method, props, body):
        got.append(body)
        chan.basic_ack(method.delivery_tag)
        if len(got) == 3:
            chan.stop_consuming()

    tag = ch.basic_consume("orders.created", on_message)
    ch.start_consuming()
    ch.basic_cancel(tag)
    ch.queue_unbind("orders.created", "orders", routing_key="order.created")
    ch.queue_purge("orders.created")
    ch.queue_delete("orders.created")
    ch.exchange_delete("orders")
    ch.close()
    c.close()


def get():
    c = connect()
    ch = c.channel()
    ch.queue_declare("jobs", auto_delete=False)
    ch.basic_publish("", "jobs", b"job-1")
    time.sleep(0.1)
    method, props, body = ch.basic_get("jobs")
    ch.basic_ack(method.delivery_tag)
    ch.basic_get("jobs")  # empty: Basic.GetEmpty
    ch.queue_delete("jobs")
    c.close()


def nack_reject():
    c = connect()
    ch = c.channel()
    ch.queue_declare("retry", auto_delete=False)
    for i in range(3):
        ch.basic_publish("", "retry", b"r-%d" % i)
    time.sleep(0.1)
    m1, _, _ = ch.basic_get("retry")
    ch.basic_nack(m1.delivery_tag, requeue=False)
    m2, _, _ = ch.basic_get("retry")
    ch.basic_reject(m2.delivery_tag, requeue=True)
    m3, _, _ = ch.basic_get("retry")
    ch.basic_nack(m3.delivery_tag, multiple=True, requeue=False)
    ch.basic_recover(requeue=True)
    ch.queue_delete("retry")
    c.close()


def confirms():
    c = connect()
    ch = c.channel()
    ch.confirm_delivery()
    ch.queue_declare("confirmed", auto_delete=True)
    for i in range(3):
        ch.basic_publish("", "confirmed", b"c-%d" % i)
    ch.queue_delete("confirmed")
    c.close()


def mandatory_return():
    c = connect()
    ch = c.channel()
    ch.confirm_delivery()
    try:
        ch.basic_publish("amq.direct", "nobody-listens", b"lost?", mandatory=True)
    except pika.exceptions.UnroutableError:
        pass
    c.close()


def tx():
    c = connect()
    ch = c.channel()
    ch.queue_declare("ledger", auto_delete=True)
    ch.tx_select()
    ch.basic_publish("", "ledger", b"debit")
    ch.tx_commit()
    ch.basic_publish("", "ledger", b"credit")
    ch.tx_rollback()
    ch.queue_delete("ledger")
    c.close()


def qos():
    c = connect()
    ch = c.channel()
    ch.basic_qos(prefetch_count=2)
    ch.basic_qos(prefetch_size=0, prefetch_count=10, global_qos=True)
    ch.queue_declare("work", auto_delete=True)
    for i in range(4):
        ch.basic_publish("", "work", b"w-%d" % i)
    seen = []

    def on_message(chan, method, props, body):
        seen.append(body)
        chan.basic_ack(method.delivery_tag)
        if len(seen) == 4:
            chan.stop_consuming()

    ch.basic_consume("work", on_message, consumer_tag="worker-1")
    ch.start_consuming()
    ch.basic_cancel("worker-1")
    c.close()


def passive_404():
    c = connect()
    ch = c.channel()
    try:
        ch.queue_declare("no-such-queue", passive=True)
    except pika.exceptions.ChannelClosedByBroker:
        pass
    ch2 = c.channel()
    ch2.queue_declare("still-works", auto_delete=True)
    ch2.queue_delete("still-works")
    c.close()


def refused_login():
    try:
        connect(credentials=pika.PlainCredentials("guest", "wrong-password"))
    except pika.exceptions.AMQPError:
        pass


def large_bodies():
    """Two channels consuming at once, bodies far above frame_max (4096), so
    the broker interleaves their body frames."""
    c = connect(frame_max=4096)
    pub = c.channel()
    pub.queue_declare("big-a", auto_delete=True)
    pub.queue_declare("big-b", auto_delete=True)
    for i in range(3):
        pub.basic_publish("", "big-a", bytes([65 + i]) * 50000)
        pub.basic_publish("", "big-b", bytes([97 + i]) * 70000)
    time.sleep(0.3)
    got = []

    def on_message(chan, method, props, body):
        got.append(len(body))
        chan.basic_ack(method.delivery_tag)

    a = c.channel()
    b = c.channel()
    a.basic_consume("big-a", on_message)
    b.basic_consume("big-b", on_message)
    deadline = time.time() + 5
    while len(got) < 6 and time.time() < deadline:
        c.process_data_events(time_limit=0.2)
    c.close()


def heartbeats():
    c = connect(heartbeat=1)
    c.channel()
    deadline = time.time() + 3.5
    while time.time() < deadline:
        c.process_data_events(time_limit=0.2)
    c.close()


def other_headers():
    """Protocol headers of other AMQP versions, each on a connection of its
    own, and the broker's answer (its own header, then it closes)."""
    for header in (b"AMQP\x00\x01\x00\x00", b"AMQP\x03\x01\x00\x00", b"AMQP\x01\x01\x00\x09", b"AMQP\x01\x01\x08\x00"):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(header)
        s.settimeout(2)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
        time.sleep(0.1)


SCENARIOS = {
    "publish-consume": publish_consume, "get": get, "nack-reject": nack_reject, "confirms": confirms,
    "return": mandatory_return, "tx": tx, "qos": qos, "passive-404": passive_404,
    "refused-login": refused_login, "large-bodies": large_bodies, "heartbeats": heartbeats,
    "other-headers": other_headers,
}
SCENARIOS[scenario]()
time.sleep(0.2)
