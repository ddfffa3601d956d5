"""Binary Star client, written for these tests from the ZeroMQ Guide's bstarcli.py
(chapter 4): a REQ socket sends the sequence number, expects it back within
REQUEST_TIMEOUT, and otherwise waits SETTLE_DELAY and fails over to the other server with
a fresh socket, resending the same request. Python 3; the servers can be given (the
defaults are the Guide's); it prints the Guide's lines on stdout.

Usage: bstarcli.py [primary-endpoint backup-endpoint]
"""
import sys
import time

import zmq

REQUEST_TIMEOUT = 1000  # msecs
SETTLE_DELAY = 2000  # before failing over


def say(line):
    print(line, flush=True)


def main():
    server = sys.argv[1:3] if len(sys.argv) >= 3 else ["tcp://localhost:5001", "tcp://localhost:5002"]
    server_nbr = 0
    ctx = zmq.Context()
    client = ctx.socket(zmq.REQ)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(server[server_nbr])
    poller = zmq.Poller()
    poller.register(client, zmq.POLLIN)

    sequence = 0
    while True:
        client.send_string("%s" % sequence)
        expect_reply = True
        while expect_reply:
            socks = dict(poller.poll(REQUEST_TIMEOUT))
            if socks.get(client) == zmq.POLLIN:
                reply = client.recv()
                if int(reply) == sequence:
                    say("I: server replied OK (%s)" % reply.decode())
                    expect_reply = False
                    sequence += 1
                    time.sleep(1)
                else:
                    say("E: malformed reply from server: %s" % reply)
            else:
                say("W: no response from server, failing over")
                time.sleep(SETTLE_DELAY / 1000)
                poller.unregister(client)
                client.close()
                server_nbr = (server_nbr + 1) % 2
                say("I: connecting to server at %s.." % server[server_nbr])
                client = ctx.socket(zmq.REQ)
                client.setsockopt(zmq.LINGER, 0)
                poller.register(client, zmq.POLLIN)
                client.connect(server[server_nbr])
                client.send_string("%s" % sequence)


if __name__ == "__main__":
    main()
