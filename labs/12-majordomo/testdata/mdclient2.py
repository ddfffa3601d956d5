"""Majordomo asynchronous client (7/MDP 0.1) for Lab 12's interop tests.

Written for this lab after the ZeroMQ Guide's examples/Python/mdcliapi2.py and
mdclient2.py (Python 3): a DEALER sends COUNT requests at once, then collects the replies
(2.5 s timeout each). Usage: mdclient2.py ENDPOINT SERVICE COUNT. Prints "done <replies>".
"""
import sys

import zmq

C_CLIENT = b"MDPC01"


def main():
    endpoint, service, count = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
    ctx = zmq.Context()
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    client.connect(endpoint)
    for i in range(count):
        client.send_multipart([b"", C_CLIENT, service, b"req-%d" % i])
    poller = zmq.Poller()
    poller.register(client, zmq.POLLIN)
    replies = 0
    while replies < count and poller.poll(2500):
        msg = client.recv_multipart()
        assert len(msg) >= 4 and msg[0] == b"" and msg[1] == C_CLIENT and msg[2] == service, msg
        replies += 1
    print("done", replies, flush=True)


if __name__ == "__main__":
    main()
