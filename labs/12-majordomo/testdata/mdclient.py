"""Majordomo synchronous client (7/MDP 0.1) for Lab 12's interop tests.

Written for this lab after the ZeroMQ Guide's examples/Python/mdcliapi.py and mdclient.py
(Python 3): a REQ socket, a request times out after 2.5 s and is retried on a fresh socket,
3 attempts in all. Usage: mdclient.py ENDPOINT SERVICE COUNT BODY...
Prints each reply as "reply <service> <frames joined by |>" and "done <replies>".
"""
import sys

import zmq

C_CLIENT = b"MDPC01"


def main():
    endpoint, service, count = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
    body = [b.encode() for b in sys.argv[4:]] or [b"hello"]
    ctx = zmq.Context()
    poller = zmq.Poller()
    client = None

    def connect():
        nonlocal client
        if client is not None:
            poller.unregister(client)
            client.close(0)
        client = ctx.socket(zmq.REQ)
        client.linger = 0
        client.connect(endpoint)
        poller.register(client, zmq.POLLIN)

    connect()
    replies = 0
    for _ in range(count):
        for _attempt in range(3):
            client.send_multipart([C_CLIENT, service] + body)
            if poller.poll(2500):
                msg = client.recv_multipart()
                assert len(msg) >= 3 and msg[0] == C_CLIENT and msg[1] == service, msg
                replies += 1
                print("reply", service.decode(), "|".join(f.decode() for f in msg[2:]), flush=True)
                break
            connect()
    print("done", replies, flush=True)


if __name__ == "__main__":
    main()
