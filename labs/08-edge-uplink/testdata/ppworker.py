"""A Paranoid Pirate worker as in the ZeroMQ Guide (chapter 4, ppworker), written for this
lab's interop tests: DEALER, READY on every (re)connect, HEARTBEAT every interval, liveness 3,
reconnect with a doubling interval (1 to 32 intervals). Requests of 3 frames are echoed as in
the Guide. Prints one line per event, flushed, for the test to read.

usage: ppworker.py <endpoint> [interval_ms]
"""
import sys
import time
from random import randint

import zmq

ENDPOINT = sys.argv[1]
INTERVAL = (int(sys.argv[2]) if len(sys.argv) > 2 else 1000) / 1000.0
LIVENESS = 3
INTERVAL_INIT = INTERVAL
INTERVAL_MAX = 32 * INTERVAL

PPP_READY = b"\x01"
PPP_HEARTBEAT = b"\x02"


def say(line):
    print(line, flush=True)


def worker_socket(context, poller):
    worker = context.socket(zmq.DEALER)
    identity = b"%04X-%04X" % (randint(0, 0x10000), randint(0, 0x10000))
    worker.setsockopt(zmq.IDENTITY, identity)
    poller.register(worker, zmq.POLLIN)
    worker.connect(ENDPOINT)
    worker.send(PPP_READY)
    say("I: worker ready %s" % identity.decode())
    return worker


context = zmq.Context(1)
poller = zmq.Poller()
liveness = LIVENESS
interval = INTERVAL_INIT
heartbeat_at = time.time() + INTERVAL
worker = worker_socket(context, poller)
while True:
    socks = dict(poller.poll(INTERVAL * 1000))
    if socks.get(worker) == zmq.POLLIN:
        frames = worker.recv_multipart()
        if len(frames) == 3:
            say("I: normal reply")
            worker.send_multipart(frames)
            liveness = LIVENESS
        elif len(frames) == 1 and frames[0] == PPP_HEARTBEAT:
            say("I: queue heartbeat")
            liveness = LIVENESS
        else:
            say("E: invalid message: %d frame(s)" % len(frames))
        interval = INTERVAL_INIT
    else:
        liveness -= 1
        if liveness == 0:
            say("W: heartbeat failure, can't reach queue; reconnecting in %0.2fs" % interval)
            time.sleep(interval)
            if interval < INTERVAL_MAX:
                interval *= 2
            poller.unregister(worker)
            worker.setsockopt(zmq.LINGER, 0)
            worker.close()
            worker = worker_socket(context, poller)
            liveness = LIVENESS
    if time.time() > heartbeat_at:
        heartbeat_at = time.time() + INTERVAL
        worker.send(PPP_HEARTBEAT)
