"""
clonecli6.py: a Clone client in the style of the ZeroMQ Guide's clonecli6.py + clone.py
(chapter 5, model six), written for this lab's interop tests. Not the Guide's file: one
thread instead of an agent thread, policies as values, and flags so a test can drive it.
What it keeps from the Guide: the CHP flow (subscribe, ICANHAZ? + subtree on a DEALER,
KVSYNC... KTHXBAI, then apply KVPUBs newer than the snapshot), KVSET with a uuid and a
ttl on a PUB to the collector (port P+2), failover to the next server after SERVER_TTL of
silence.

Usage: clonecli6.py --server tcp://127.0.0.1:P [--server ...] [--subtree /acl/]
                    [--set KEY=VALUE[@ttl]]... [--seconds N]
Prints "I: ..." lines on stdout (flushed): snapshot, update, delete, set.
"""
import argparse
import sys
import time

import zmq

from kvmsg import KVMsg

SERVER_TTL = 5.0


def say(line):
    print(line, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", action="append", required=True)
    ap.add_argument("--subtree", default="")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()

    ctx = zmq.Context()
    servers = []
    for endpoint in args.server:
        host, port = endpoint.rsplit(":", 1)
        servers.append((host, int(port)))
    publisher = ctx.socket(zmq.PUB)
    publisher.linger = 1000
    for host, port in servers:
        publisher.connect("%s:%d" % (host, port + 2))

    subtree = args.subtree.encode()
    table = {}
    current = 0
    end = time.time() + args.seconds
    pending_sets = list(args.set)
    while time.time() < end:
        host, port = servers[current]
        snapshot = ctx.socket(zmq.DEALER)
        snapshot.linger = 0
        snapshot.connect("%s:%d" % (host, port))
        subscriber = ctx.socket(zmq.SUB)
        subscriber.linger = 0
        subscriber.setsockopt(zmq.SUBSCRIBE, subtree)
        subscriber.setsockopt(zmq.SUBSCRIBE, b"HUGZ")
        subscriber.connect("%s:%d" % (host, port + 1))
        snapshot.send_multipart([b"ICANHAZ?", subtree])
        sequence = None
        expiry = time.time() + SERVER_TTL
        poller = zmq.Poller()
        poller.register(snapshot, zmq.POLLIN)
        # Syncing: read the snapshot.
        while sequence is None and time.time() < min(expiry, end):
            if poller.poll(100):
                kv = KVMsg.from_frames(snapshot.recv_multipart())
                if kv.key == b"KTHXBAI":
                    sequence = kv.sequence
                    say("I: received snapshot=%d count=%d" % (sequence, len(table)))
                else:
                    kv.store(table)
        if sequence is None:
            say("I: server at %s:%d didn't give hugz" % (host, port))
            snapshot.close()
            subscriber.close()
            current = (current + 1) % len(servers)
            continue
        poller = zmq.Poller()
        poller.register(subscriber, zmq.POLLIN)
        expiry = time.time() + SERVER_TTL
        next_set = time.time() + 0.5  # let the collector's subscription arrive
        while time.time() < min(expiry, end):
            if pending_sets and time.time() >= next_set:
                spec = pending_sets.pop(0)
                kv_text, _, ttl = spec.partition("@")
                key, _, value = kv_text.partition("=")
                kv = KVMsg(0, key.encode(), value.replace("\\n", "\n").encode())
                if ttl:
                    kv.properties[b"ttl"] = ttl.encode()
                kv.send(publisher)
                say("I: set %s" % key)
                next_set = time.time() + 0.2
            if poller.poll(100):
                kv = KVMsg.from_frames(subscriber.recv_multipart())
                expiry = time.time() + SERVER_TTL
                # Discard out-of-sequence updates, including HUGZ.
                if kv.key != b"HUGZ" and kv.sequence > sequence:
                    sequence = kv.sequence
                    kv.store(table)
                    what = "update" if kv.body else "delete"
                    say("I: received %s=%d key=%s" % (what, sequence, kv.key.decode()))
        if time.time() < end:
            say("I: server at %s:%d didn't give hugz" % (host, port))
            current = (current + 1) % len(servers)
        snapshot.close()
        subscriber.close()
    say("I: done count=%d" % len(table))
    publisher.close()
    ctx.term()


if __name__ == "__main__":
    sys.exit(main())
