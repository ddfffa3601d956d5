"""Titanic server (9/TSP over 7/MDP 0.1) for Lab 13's interop tests.

Written for this lab after the ZeroMQ Guide's examples/Python/titanic.py (Python 3, no
pickle): three threads are MDP workers for titanic.request, titanic.reply and
titanic.close (mdwrkapi-style DEALERs with READY and HEARTBEAT), requests and replies are
files in DIR (<uuid>.req / <uuid>.rep, frames length-prefixed), and a dispatcher asks
mmi.service and sends each pending request to its service with an mdcliapi-style REQ client
(1 s timeout). Usage: titanic.py ENDPOINT DIR. Prints "ready", "stored <uuid>" and
"dispatched <uuid>" lines.
"""
import os
import queue
import struct
import sys
import threading
import time
from uuid import uuid4

import zmq

W_WORKER, C_CLIENT = b"MDPW01", b"MDPC01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"


def write_frames(path, frames):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        for frame in frames:
            f.write(struct.pack(">I", len(frame)) + frame)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def read_frames(path):
    with open(path, "rb") as f:
        data = f.read()
    frames, i = [], 0
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        frames.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return frames


# The tests run the broker with 250 ms heartbeats (liveness 4): beat as often as it does.
HEARTBEAT_INTERVAL = 0.25


def worker(ctx, endpoint, service, handler):
    def connect():
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(endpoint)
        sock.send_multipart([b"", W_WORKER, READY, service])
        return sock

    sock = connect()
    heartbeat_at = time.time() + HEARTBEAT_INTERVAL
    while True:
        if sock.poll(100):
            msg = sock.recv_multipart()
            if len(msg) >= 6 and msg[1] == W_WORKER and msg[2] == REQUEST:
                client, body = msg[3], msg[5:]
                sock.send_multipart([b"", W_WORKER, REPLY, client, b""] + handler(body))
            elif len(msg) >= 3 and msg[1] == W_WORKER and msg[2] == DISCONNECT:
                # 7/MDP: the broker forgot us (a late heartbeat): register again.
                sock.close()
                sock = connect()
        if time.time() > heartbeat_at:
            sock.send_multipart([b"", W_WORKER, HEARTBEAT])
            heartbeat_at = time.time() + HEARTBEAT_INTERVAL


def main():
    endpoint, directory = sys.argv[1], sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    req = lambda u: os.path.join(directory, u + ".req")
    rep = lambda u: os.path.join(directory, u + ".rep")
    ctx = zmq.Context()
    pending = queue.Queue()

    def on_request(body):
        uuid = uuid4().hex
        write_frames(req(uuid), body)  # on disk before the UUID goes back
        pending.put(uuid)
        print("stored", uuid, flush=True)
        return [b"200", uuid.encode()]

    def on_reply(body):
        uuid = body[0].decode()
        if os.path.exists(rep(uuid)):
            return [b"200"] + read_frames(rep(uuid))
        return [b"300"] if os.path.exists(req(uuid)) else [b"400"]

    def on_close(body):
        uuid = body[0].decode()
        for path in (req(uuid), rep(uuid)):
            if os.path.exists(path):
                os.remove(path)
        return [b"200"]

    for service, handler in ((b"titanic.request", on_request), (b"titanic.reply", on_reply),
                             (b"titanic.close", on_close)):
        threading.Thread(target=worker, args=(ctx, endpoint, service, handler), daemon=True).start()
    print("ready", flush=True)

    client = None

    def call(service, body):
        nonlocal client
        if client is None:
            client = ctx.socket(zmq.REQ)
            client.linger = 0
            client.connect(endpoint)
        client.send_multipart([C_CLIENT, service] + body)
        if client.poll(1000):
            return client.recv_multipart()[2:]
        client.close(0)
        client = None
        return None

    waiting = []
    while True:
        try:
            waiting.append(pending.get(timeout=0.1))
        except queue.Empty:
            pass
        still = []
        for uuid in waiting:
            if not os.path.exists(req(uuid)):
                continue  # closed
            frames = read_frames(req(uuid))
            service, body = frames[0], frames[1:]
            mmi = call(b"mmi.service", [service])
            reply = call(service, body) if mmi and mmi[0] == b"200" else None
            if reply is None:
                still.append(uuid)
                continue
            write_frames(rep(uuid), reply)
            print("dispatched", uuid, flush=True)
        waiting = still


if __name__ == "__main__":
    main()
