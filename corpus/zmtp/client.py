#!/usr/bin/python3
"""One ZMTP scenario between two real libzmq sockets (python3-zmq) on
127.0.0.1:PORT, for corpus/zmtp/capture.sh.

  client.py SCENARIO PORT LOG

Every application message either socket sends is logged to LOG, one line
each, tab-separated:  side  socket-type  parts  bytes  on-wire  note
(`parts` and `bytes` are what the application handed to libzmq; REQ and
REP sockets add the empty delimiter frame of RFC 28 on the wire, which has
no bytes; `on-wire` is 0 for a message libzmq does not send, e.g. one a
PUB socket filters out because nobody subscribed to it). Subscriptions are
logged as the message RFC 29 gives them (1 or 0, then the topic). The
goldens are reviewed against these lines (golden/zmtp/README.md).
"""
import sys
import time

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

SCENARIO, PORT, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ADDR = f"tcp://127.0.0.1:{PORT}"
ctx = zmq.Context()
log = open(LOG, "w")


def sent(name, sock_type, frames, note="", on_wire=1):
    frames = [f if isinstance(f, bytes) else f.encode() for f in frames]
    log.write(f"{name}\t{sock_type}\t{len(frames)}\t{sum(len(f) for f in frames)}\t{on_wire}\t{note}\n")
    log.flush()
    return frames


def send(sock, name, sock_type, frames, note="", on_wire=1):
    sock.send_multipart(sent(name, sock_type, frames, note, on_wire))


def pair(server_type, client_type, **opts):
    """The server binds, the client connects (so the client sends the SYN)."""
    server = ctx.socket(server_type)
    client = ctx.socket(client_type)
    for sock in (server, client):
        sock.setsockopt(zmq.LINGER, 1000)
    for key, value in opts.get("server", {}).items():
        server.setsockopt(key, value)
    for key, value in opts.get("client", {}).items():
        client.setsockopt(key, value)
    server.bind(ADDR)
    client.connect(ADDR)
    return server, client


def recv(sock, timeout_ms=3000):
    if not sock.poll(timeout_ms):
        raise SystemExit(f"{SCENARIO}: nothing received in {timeout_ms} ms")
    return sock.recv_multipart()


def req_rep(server, client, requests, reply_of):
    for frames in requests:
        send(client, "client", "REQ", frames)
        got = recv(server)
        send(server, "server", "REP", reply_of(got))
        recv(client)


def scenario_req_rep():
    server, client = pair(zmq.REP, zmq.REQ)
    req_rep(server, client, [[b"Hello"], [b"What time is it?"], [b"x" * 200]],
            lambda got: [b"World: " + got[0][:20]])
    return [server, client]


def scenario_dealer_router():
    server, client = pair(zmq.ROUTER, zmq.DEALER, client={zmq.IDENTITY: b"dealer-1"})
    for i in range(3):
        send(client, "client", "DEALER", [f"job {i}"])
        identity, body = recv(server)
        server.send_multipart([identity] + sent("server", "ROUTER", [b"done " + body], "after the identity frame ROUTER routes by (not sent)"))
        recv(client)
    return [server, client]


def scenario_pub_sub():
    server, client = pair(zmq.PUB, zmq.SUB)
    client.setsockopt(zmq.SUBSCRIBE, b"weather.")
    sent("client", "SUB", [b"\x01weather."], "subscription (libzmq sends it as SUBSCRIBE in 3.1)")
    client.setsockopt(zmq.SUBSCRIBE, b"sports.")
    sent("client", "SUB", [b"\x01sports."], "subscription")
    time.sleep(0.5)
    for topic in (b"weather.paris 21C", b"sports.football 2-1", b"news.none"):
        filtered = topic.startswith(b"news")
        send(server, "server", "PUB", [topic], "nobody subscribed: filtered by the publisher" if filtered else "",
             0 if filtered else 1)
        if not topic.startswith(b"news"):
            recv(client)
    client.setsockopt(zmq.UNSUBSCRIBE, b"sports.")
    sent("client", "SUB", [b"\x00sports."], "unsubscription (CANCEL in 3.1)")
    time.sleep(0.5)
    send(server, "server", "PUB", [b"weather.rome 25C"])
    recv(client)
    send(server, "server", "PUB", [b"sports.tennis 6-4"], "cancelled: filtered by the publisher", 0)
    time.sleep(0.3)
    return [server, client]


def scenario_xpub_xsub():
    server, client = pair(zmq.XPUB, zmq.XSUB)
    send(client, "client", "XSUB", [b"\x01alerts"], "subscription written by the application")
    recv(server)
    send(client, "client", "XSUB", [b"\x01metrics"], "subscription written by the application")
    recv(server)
    time.sleep(0.2)
    send(server, "server", "XPUB", [b"alerts disk full"])
    recv(client)
    send(server, "server", "XPUB", [b"metrics cpu=3"])
    recv(client)
    send(client, "client", "XSUB", [b"\x00metrics"], "unsubscription written by the application")
    recv(server)
    time.sleep(0.2)
    send(server, "server", "XPUB", [b"alerts fan"])
    recv(client)
    return [server, client]


def scenario_push_pull():
    server, client = pair(zmq.PULL, zmq.PUSH)
    for i in range(4):
        send(client, "client", "PUSH", [f"task {i}" * (i + 1)])
        recv(server)
    return [server, client]


def scenario_pair():
    server, client = pair(zmq.PAIR, zmq.PAIR)
    for i in range(2):
        send(client, "client", "PAIR", [f"ping {i}"])
        recv(server)
        send(server, "server", "PAIR", [f"pong {i}"])
        recv(client)
    return [server, client]


def scenario_multipart():
    server, client = pair(zmq.REP, zmq.REQ)
    req_rep(server, client, [[b"header", b"body-part-1", b"body-part-2"], [b"a", b"", b"c"]],
            lambda got: [b"ack", str(len(got)).encode()])
    return [server, client]


def scenario_large():
    server, client = pair(zmq.REP, zmq.REQ)
    req_rep(server, client, [[bytes(range(256)) * 4096], [b"y" * 300]], lambda got: [b"size", str(len(got[0])).encode()])
    return [server, client]


def plain(password):
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"alice": "secret"})
    server, client = pair(zmq.REP, zmq.REQ,
                          server={zmq.PLAIN_SERVER: 1},
                          client={zmq.PLAIN_USERNAME: b"alice", zmq.PLAIN_PASSWORD: password.encode(),
                                  zmq.RECONNECT_IVL: 60000})
    return auth, server, client


def scenario_plain_accepted():
    auth, server, client = plain("secret")
    req_rep(server, client, [[b"authenticated hello"]], lambda got: [b"welcome alice"])
    return [server, client], auth


def scenario_plain_refused():
    auth, server, client = plain("wrong")
    # The ZAP handler refuses (status 400): the server sends ERROR and the
    # handshake ends; the request is never sent (not logged).
    client.send(b"never delivered")
    time.sleep(1.0)
    client.setsockopt(zmq.LINGER, 0)
    return [server, client], auth


def scenario_curve():
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    server, client = pair(zmq.REP, zmq.REQ,
                          server={zmq.CURVE_SERVER: 1, zmq.CURVE_SECRETKEY: server_secret},
                          client={zmq.CURVE_SERVERKEY: server_public, zmq.CURVE_PUBLICKEY: client_public,
                                  zmq.CURVE_SECRETKEY: client_secret})
    req_rep(server, client, [[b"secret question"], [b"second", b"part"]], lambda got: [b"secret answer"])
    return [server, client]


def main():
    result = globals()["scenario_" + SCENARIO.replace("-", "_")]()
    auth = None
    if isinstance(result, tuple):
        result, auth = result
    time.sleep(0.2)
    # The client first: a client left behind a closed server reconnects.
    for sock in reversed(result):
        sock.close()
    if auth is not None:
        auth.stop()
    ctx.term()
    log.close()


main()
