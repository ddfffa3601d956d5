"""Majordomo echo worker (7/MDP 0.1) for Lab 12's interop tests.

Written for this lab after the ZeroMQ Guide's examples/Python/mdwrkapi.py and mdworker.py
(Python 3): a DEALER, READY on every (re)connect, HEARTBEAT while waiting, liveness 3,
reconnect on DISCONNECT or a silent broker; answers each request with its body.
Usage: mdworker.py ENDPOINT SERVICE [HEARTBEAT_MS]. Prints "ready" and "request N" lines.
"""
import sys
import time

import zmq

W_WORKER = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"
LIVENESS = 3


def main():
    endpoint, service = sys.argv[1], sys.argv[2].encode()
    interval = (int(sys.argv[3]) if len(sys.argv) > 3 else 2500) / 1000.0
    ctx = zmq.Context()
    poller = zmq.Poller()
    worker = None
    served = 0

    def connect():
        nonlocal worker
        if worker is not None:
            poller.unregister(worker)
            worker.close(0)
        worker = ctx.socket(zmq.DEALER)
        worker.linger = 0
        worker.connect(endpoint)
        poller.register(worker, zmq.POLLIN)
        worker.send_multipart([b"", W_WORKER, READY, service])
        print("ready", flush=True)

    connect()
    liveness = LIVENESS
    heartbeat_at = time.time() + interval
    reply = None
    try:
        while True:
            if reply is not None:
                worker.send_multipart([b"", W_WORKER, REPLY] + reply)
                reply = None
            if poller.poll(interval * 1000):
                msg = worker.recv_multipart()
                liveness = LIVENESS
                if len(msg) < 3 or msg[0] != b"" or msg[1] != W_WORKER:
                    print("invalid", flush=True)
                    continue
                command = msg[2]
                if command == REQUEST and len(msg) >= 6:
                    served += 1
                    print("request", served, flush=True)
                    reply = [msg[3], b""] + msg[5:]  # echo
                elif command == HEARTBEAT:
                    pass
                elif command == DISCONNECT:
                    connect()
                else:
                    print("invalid", flush=True)
            else:
                liveness -= 1
                if liveness == 0:
                    time.sleep(interval)
                    connect()
                    liveness = LIVENESS
            if time.time() > heartbeat_at:
                worker.send_multipart([b"", W_WORKER, HEARTBEAT])
                heartbeat_at = time.time() + interval
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
