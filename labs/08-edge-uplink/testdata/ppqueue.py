"""A Paranoid Pirate queue as in the ZeroMQ Guide (chapter 4, ppqueue), written for this lab's
interop tests: ROUTER frontend for clients, ROUTER backend for workers, any worker message
makes the worker ready, HEARTBEAT to every known worker each interval, workers silent for
3 intervals are purged, a worker's multi-frame message is a reply routed to the frontend.
Prints one line per event, flushed, for the test to read.

usage: ppqueue.py <frontend endpoint> <backend endpoint> [interval_ms]
"""
import sys
import time
from collections import OrderedDict

import zmq

FRONTEND, BACKEND = sys.argv[1], sys.argv[2]
INTERVAL = (int(sys.argv[3]) if len(sys.argv) > 3 else 1000) / 1000.0
LIVENESS = 3

PPP_READY = b"\x01"
PPP_HEARTBEAT = b"\x02"


def say(line):
    print(line, flush=True)


class Worker(object):
    def __init__(self, address):
        self.address = address
        self.expiry = time.time() + INTERVAL * LIVENESS


class WorkerQueue(object):
    def __init__(self):
        self.queue = OrderedDict()

    def ready(self, worker):
        self.queue.pop(worker.address, None)
        self.queue[worker.address] = worker

    def purge(self):
        t = time.time()
        expired = []
        for address, worker in self.queue.items():
            if t < worker.expiry:
                break
            expired.append(address)
        for address in expired:
            say("W: idle worker expired: %s" % address.hex())
            self.queue.pop(address, None)

    def next(self):
        address, worker = self.queue.popitem(False)
        return address


context = zmq.Context(1)
frontend = context.socket(zmq.ROUTER)
backend = context.socket(zmq.ROUTER)
frontend.bind(FRONTEND)
backend.bind(BACKEND)
say("I: queue bound %s %s" % (FRONTEND, BACKEND))

poll_workers = zmq.Poller()
poll_workers.register(backend, zmq.POLLIN)
poll_both = zmq.Poller()
poll_both.register(frontend, zmq.POLLIN)
poll_both.register(backend, zmq.POLLIN)

workers = WorkerQueue()
heartbeat_at = time.time() + INTERVAL
while True:
    poller = poll_both if len(workers.queue) > 0 else poll_workers
    socks = dict(poller.poll(INTERVAL * 1000))
    if socks.get(backend) == zmq.POLLIN:
        frames = backend.recv_multipart()
        address = frames[0]
        workers.ready(Worker(address))
        msg = frames[1:]
        if len(msg) == 1:
            if msg[0] == PPP_READY:
                say("I: worker ready %s" % address.hex())
            elif msg[0] != PPP_HEARTBEAT:
                say("E: invalid message from worker: %r" % msg)
        else:
            say("I: reply of %d frame(s) routed to the frontend" % len(msg))
            frontend.send_multipart(msg)
        # As in the Guide: heartbeats go out after backend activity (workers beat too).
        if time.time() >= heartbeat_at:
            for worker in workers.queue:
                backend.send_multipart([worker, PPP_HEARTBEAT])
            heartbeat_at = time.time() + INTERVAL
    if socks.get(frontend) == zmq.POLLIN:
        frames = frontend.recv_multipart()
        frames.insert(0, workers.next())
        backend.send_multipart(frames)
    workers.purge()
