"""
clonesrv6.py: a Clone server in the style of the ZeroMQ Guide's clonesrv6.py (chapter 5,
model six), written for this lab's interop tests. Not the Guide's file: Python 3, a plain
poll loop instead of tornado, flags so a test can drive it. What it keeps from the Guide:
snapshot ROUTER on P, PUB on P+1, collector SUB on P+2; ICANHAZ? + subtree answered with
KVSYNCs and KTHXBAI; every KVSET gets the next sequence and is republished (uuid kept);
ttl expiry publishes a delete; HUGZ every second carrying the current sequence; and the
Binary Star gate: the snapshot socket is the "voter", so a lone primary serves only once
its peer has been silent for two heartbeats (a client's ICANHAZ? is then the request that
makes it active).

Usage: clonesrv6.py -p [--port P|0] [--peer-state tcp://...] [--set KEY=VALUE]...
With --port 0 it picks a free P (P+1 and P+2 free too) and prints "I: listening on P".
"""
import argparse
import signal
import sys
import time

import zmq

from kvmsg import KVMsg

HEARTBEAT = 1.0
STATE_PRIMARY, STATE_BACKUP, STATE_ACTIVE, STATE_PASSIVE = 1, 2, 3, 4


def say(line):
    print(line, flush=True)


def bind_triple(ctx, port):
    while True:
        snapshot = ctx.socket(zmq.ROUTER)
        if port == 0:
            p = snapshot.bind_to_random_port("tcp://127.0.0.1", 20000, 60000)
        else:
            p = port
            snapshot.bind("tcp://127.0.0.1:%d" % p)
        publisher = ctx.socket(zmq.PUB)
        collector = ctx.socket(zmq.SUB)
        try:
            publisher.bind("tcp://127.0.0.1:%d" % (p + 1))
            collector.bind("tcp://127.0.0.1:%d" % (p + 2))
            return p, snapshot, publisher, collector
        except zmq.ZMQError:
            for s in (snapshot, publisher, collector):
                s.close(0)
            if port != 0:
                raise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", action="store_true")
    ap.add_argument("-b", action="store_true")
    ap.add_argument("--port", type=int, default=5556)
    ap.add_argument("--peer-state", default="tcp://127.0.0.1:1")
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.p == args.b:
        say("Usage: clonesrv6.py { -p | -b } [--port P]")
        return 1

    ctx = zmq.Context()
    port, snapshot, publisher, collector = bind_triple(ctx, args.port)
    collector.setsockopt(zmq.SUBSCRIBE, b"")
    statepub = ctx.socket(zmq.PUB)
    statepub.bind_to_random_port("tcp://127.0.0.1", 20000, 60000)
    statesub = ctx.socket(zmq.SUB)
    statesub.setsockopt(zmq.SUBSCRIBE, b"")
    statesub.connect(args.peer_state)
    say("I: listening on %d" % port)

    state = STATE_PRIMARY if args.p else STATE_BACKUP
    peer_expiry = time.time() + 2 * HEARTBEAT
    kvmap = {}
    sequence = 0
    for spec in args.set:
        key, _, value = spec.partition("=")
        sequence += 1
        KVMsg(sequence, key.encode(), value.replace("\\n", "\n").encode()).store(kvmap)

    poller = zmq.Poller()
    for s in (snapshot, collector, statesub):
        poller.register(s, zmq.POLLIN)
    next_hugz = time.time()
    try:
        while True:
            for sock, _ in poller.poll(100):
                if sock is statesub:
                    peer = int(statesub.recv())
                    peer_expiry = time.time() + 2 * HEARTBEAT
                    if state == STATE_PRIMARY and peer == STATE_BACKUP:
                        state = STATE_ACTIVE
                    elif state in (STATE_PRIMARY, STATE_BACKUP) and peer == STATE_ACTIVE:
                        state = STATE_PASSIVE
                elif sock is snapshot:
                    msg = snapshot.recv_multipart()
                    # Binary Star: a client request is the vote that can make us active.
                    if state in (STATE_PRIMARY, STATE_PASSIVE) and time.time() >= peer_expiry:
                        state = STATE_ACTIVE
                        say("I: request from client, ready as master")
                    if state != STATE_ACTIVE:
                        continue
                    if len(msg) != 3 or msg[1] != b"ICANHAZ?":
                        say("E: bad request, dropped")
                        continue
                    identity, subtree = msg[0], msg[2]
                    for key, kv in list(kvmap.items()):
                        if key.startswith(subtree):
                            KVMsg(kv.sequence, key, kv.body, b"", {}).send(snapshot, [identity])
                    KVMsg(sequence, b"KTHXBAI", subtree, b"", {}).send(snapshot, [identity])
                    say("I: sending state snapshot=%d" % sequence)
                elif sock is collector:
                    frames = collector.recv_multipart()
                    if state != STATE_ACTIVE:
                        continue
                    try:
                        kv = KVMsg.from_frames(frames)
                    except (ValueError, Exception):
                        say("E: bad update, dropped")
                        continue
                    sequence += 1
                    kv.sequence = sequence
                    kv.send(publisher)
                    ttl = kv.properties.get(b"ttl")
                    if ttl:
                        kv.expires = time.time() + int(ttl)
                    kv.store(kvmap)
                    say("I: publishing update=%d key=%s" % (sequence, kv.key.decode()))
            now = time.time()
            for key, kv in list(kvmap.items()):
                expires = getattr(kv, "expires", None)
                if expires and expires <= now:
                    sequence += 1
                    KVMsg(sequence, key, b"", kv.uuid, {}).send(publisher)
                    del kvmap[key]
                    say("I: publishing delete=%d key=%s" % (sequence, key.decode()))
            if now >= next_hugz:
                statepub.send(b"%d" % state)
                if state == STATE_ACTIVE:
                    KVMsg(sequence, b"HUGZ", b"").send(publisher)
                next_hugz = now + HEARTBEAT
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
