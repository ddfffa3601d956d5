"""An independent CURVE client in pyzmq for Lab 19's interop test.

Usage: py_subscriber.py ENDPOINT SERVER_PUBLIC_CERT CLIENT_SECRET_CERT COUNT

Loads both certificates with zmq.auth.load_certificate (czmq zcert files written by our
keygen), subscribes to "reading." on the secure_server and prints "OK <n> <topic>" after
COUNT messages, or "TIMEOUT <n>" after 20 s.
"""
import sys

import zmq
import zmq.auth

endpoint, server_cert, client_cert, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
server_public, _ = zmq.auth.load_certificate(server_cert)
client_public, client_secret = zmq.auth.load_certificate(client_cert)
ctx = zmq.Context.instance()
sub = ctx.socket(zmq.SUB)
sub.curve_serverkey = server_public
sub.curve_publickey = client_public
sub.curve_secretkey = client_secret
sub.setsockopt(zmq.SUBSCRIBE, b"reading.")
sub.rcvtimeo = 20000
sub.connect(endpoint)
print("READY", flush=True)
n = 0
topic = b""
try:
    while n < count:
        topic, _body = sub.recv_multipart()
        n += 1
    print("OK", n, topic.decode(), flush=True)
except zmq.Again:
    print("TIMEOUT", n, flush=True)
sub.close(linger=0)
ctx.term()
