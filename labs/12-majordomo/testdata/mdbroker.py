"""Majordomo broker (7/MDP 0.1 + 8/MMI) for Lab 12's interop tests.

Written for this lab after the ZeroMQ Guide's examples/Python/mdbroker.py (Python 3,
bytes frames): one ROUTER for clients and workers, a FIFO of requests and of waiting
workers per service, heartbeats to waiting workers, expiry of silent waiting workers.
Two fixes against the Guide's Python text: frames are bytes (the Guide's is Python 2),
and mmi.service answers "404" when not found (the Python text says "400"; RFC 8 says 404).
Usage: mdbroker.py ENDPOINT [HEARTBEAT_MS]. Prints "listening <endpoint>" once bound.
"""
import sys
import time

import zmq

C_CLIENT = b"MDPC01"
W_WORKER = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"
LIVENESS = 3


class Service:
    def __init__(self, name):
        self.name = name
        self.requests = []
        self.waiting = []


class Worker:
    def __init__(self, address):
        self.address = address
        self.service = None
        self.expiry = 0.0


def main():
    endpoint = sys.argv[1]
    interval = (int(sys.argv[2]) if len(sys.argv) > 2 else 2500) / 1000.0
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    sock.bind(endpoint)
    print("listening", sock.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
    services, workers, waiting = {}, {}, []
    heartbeat_at = time.time() + interval

    def require_service(name):
        if name not in services:
            services[name] = Service(name)
        return services[name]

    def send_to_worker(worker, command, msg=None):
        sock.send_multipart([worker.address, b"", W_WORKER, command] + (msg or []))

    def delete_worker(worker, disconnect):
        if disconnect:
            send_to_worker(worker, DISCONNECT)
        if worker.service is not None and worker in worker.service.waiting:
            worker.service.waiting.remove(worker)
        if worker in waiting:
            waiting.remove(worker)
        workers.pop(worker.address, None)

    def purge():
        while waiting and waiting[0].expiry < time.time():
            delete_worker(waiting[0], False)

    def dispatch(service, msg=None):
        if msg is not None:
            service.requests.append(msg)
        purge()
        while service.waiting and service.requests:
            msg = service.requests.pop(0)
            worker = service.waiting.pop(0)
            waiting.remove(worker)
            send_to_worker(worker, REQUEST, msg)

    def worker_waiting(worker):
        waiting.append(worker)
        worker.service.waiting.append(worker)
        worker.expiry = time.time() + interval * LIVENESS
        dispatch(worker.service)

    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    try:
        while True:
            if poller.poll(interval * 1000):
                msg = sock.recv_multipart()
                if len(msg) < 3 or msg[1] != b"":
                    continue
                sender, header, msg = msg[0], msg[2], msg[3:]
                if header == C_CLIENT and len(msg) >= 2:
                    service, body = msg[0], [sender, b""] + msg[1:]
                    if service.startswith(b"mmi."):
                        code = b"501"
                        if service == b"mmi.service":
                            named = services.get(body[-1])
                            code = b"200" if named is not None and named.waiting else b"404"
                        body[-1] = code
                        sock.send_multipart(body[:2] + [C_CLIENT, service] + body[2:])
                    else:
                        dispatch(require_service(service), body)
                elif header == W_WORKER and len(msg) >= 1:
                    command, msg = msg[0], msg[1:]
                    known = sender in workers
                    worker = workers.setdefault(sender, Worker(sender))
                    if command == READY:
                        if known or not msg or msg[0].startswith(b"mmi."):
                            delete_worker(worker, True)
                        else:
                            worker.service = require_service(msg[0])
                            worker_waiting(worker)
                    elif command == REPLY and known and len(msg) >= 3:
                        client = msg[0]
                        sock.send_multipart([client, b"", C_CLIENT, worker.service.name] + msg[2:])
                        worker_waiting(worker)
                    elif command == HEARTBEAT and known:
                        worker.expiry = time.time() + interval * LIVENESS
                    elif command == DISCONNECT:
                        delete_worker(worker, False)
                    else:
                        delete_worker(worker, True)
            purge()
            if time.time() > heartbeat_at:
                for worker in waiting:
                    send_to_worker(worker, HEARTBEAT)
                heartbeat_at = time.time() + interval
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
