"""Titanic client (9/TSP over 7/MDP 0.1) for Lab 13's interop tests.

Written for this lab after the ZeroMQ Guide's ticlient (examples/C/ticlient.c; the Guide has
no Python translation) on an mdcliapi-style synchronous client (Python 3): a REQ socket, each
call times out after 2.5 s and is retried on a fresh socket, 3 attempts in all.
Usage: ticlient.py ENDPOINT SERVICE BODY. Sends BODY to SERVICE through titanic.request,
polls titanic.reply every 100 ms until 200, then titanic.close.
Prints "uuid <uuid>", "reply <frames joined by |>" and "closed".
"""
import sys
import time

import zmq

C_CLIENT = b"MDPC01"


class Client:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.ctx = zmq.Context()
        self.poller = zmq.Poller()
        self.sock = None
        self.connect()

    def connect(self):
        if self.sock is not None:
            self.poller.unregister(self.sock)
            self.sock.close(0)
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.linger = 0
        self.sock.connect(self.endpoint)
        self.poller.register(self.sock, zmq.POLLIN)

    def send(self, service, body):
        for _attempt in range(3):
            self.sock.send_multipart([C_CLIENT, service] + body)
            if self.poller.poll(2500):
                msg = self.sock.recv_multipart()
                assert len(msg) >= 3 and msg[0] == C_CLIENT and msg[1] == service, msg
                return msg[2:]
            self.connect()
        return None


def main():
    endpoint, service, body = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
    client = Client(endpoint)
    reply = client.send(b"titanic.request", [service, body])
    assert reply and reply[0] == b"200", reply
    uuid = reply[1]
    print("uuid", uuid.decode(), flush=True)
    while True:
        reply = client.send(b"titanic.reply", [uuid])
        if reply and reply[0] == b"200":
            print("reply", "|".join(f.decode() for f in reply[1:]), flush=True)
            break
        if reply and reply[0].startswith(b"400"):
            print("unknown", flush=True)
            sys.exit(1)
        time.sleep(0.1)
    reply = client.send(b"titanic.close", [uuid])
    assert reply and reply[0] == b"200", reply
    print("closed", flush=True)


if __name__ == "__main__":
    main()
