"""Binary Star echo server, written for these tests from the ZeroMQ Guide's bstarsrv2.py
and its bstar.py reactor (chapter 4): the same FSM, the same wire (state beacons on PUB/SUB
as one ASCII decimal frame, 1 PRIMARY .. 4 PASSIVE, every HEARTBEAT ms; the peer is dead
after 2) and the same echo service on a ROUTER. Differences, all for running it in test
namespaces: a plain zmq.Poller loop instead of tornado's IOLoop, and the endpoints can be
given (the defaults are the Guide's). It prints the Guide's lines on stdout.

Usage: bstarsrv2.py { -p | -b } [--frontend EP] [--state-bind EP] [--peer EP] [--heartbeat MS]
"""
import argparse
import sys
import time

import zmq

STATE_PRIMARY, STATE_BACKUP, STATE_ACTIVE, STATE_PASSIVE = 1, 2, 3, 4
PEER_PRIMARY, PEER_BACKUP, PEER_ACTIVE, PEER_PASSIVE, CLIENT_REQUEST = 1, 2, 3, 4, 5


class FSMError(Exception):
    pass


def say(line):
    print(line, flush=True)


class BinaryStar:
    def __init__(self, primary, heartbeat):
        self.state = STATE_PRIMARY if primary else STATE_BACKUP
        self.heartbeat = heartbeat / 1000.0
        self.peer_expiry = time.time() + 2 * self.heartbeat

    def execute(self, event):
        """The Guide's bstar FSM: True if a client request may be served."""
        accept = True
        if self.state == STATE_PRIMARY:
            if event == PEER_BACKUP:
                say("I: connected to backup (passive), ready active")
                self.state = STATE_ACTIVE
            elif event == PEER_ACTIVE:
                say("I: connected to backup (active), ready passive")
                self.state = STATE_PASSIVE
            elif event == CLIENT_REQUEST:
                if time.time() >= self.peer_expiry:
                    say("I: request from client, ready as active")
                    self.state = STATE_ACTIVE
                else:
                    accept = False
        elif self.state == STATE_BACKUP:
            if event == PEER_ACTIVE:
                say("I: connected to primary (active), ready passive")
                self.state = STATE_PASSIVE
            elif event == CLIENT_REQUEST:
                accept = False
        elif self.state == STATE_ACTIVE:
            if event == PEER_ACTIVE:
                say("E: fatal error - dual actives, aborting")
                raise FSMError("dual actives")
        elif self.state == STATE_PASSIVE:
            if event == PEER_PRIMARY:
                say("I: primary (passive) is restarting, ready active")
                self.state = STATE_ACTIVE
            elif event == PEER_BACKUP:
                say("I: backup (passive) is restarting, ready active")
                self.state = STATE_ACTIVE
            elif event == PEER_PASSIVE:
                say("E: fatal error - dual passives, aborting")
                raise FSMError("dual passives")
            elif event == CLIENT_REQUEST:
                if time.time() >= self.peer_expiry:
                    say("I: failover successful, ready active")
                    self.state = STATE_ACTIVE
                else:
                    accept = False
        return accept


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-p", action="store_true")
    parser.add_argument("-b", action="store_true")
    parser.add_argument("--frontend")
    parser.add_argument("--state-bind")
    parser.add_argument("--peer")
    parser.add_argument("--heartbeat", type=int, default=1000)
    args = parser.parse_args()
    if args.p == args.b:
        print("Usage: bstarsrv2.py { -p | -b }", file=sys.stderr)
        return 2
    if args.p:
        frontend_ep = args.frontend or "tcp://*:5001"
        state_bind = args.state_bind or "tcp://*:5003"
        peer = args.peer or "tcp://localhost:5004"
    else:
        frontend_ep = args.frontend or "tcp://*:5002"
        state_bind = args.state_bind or "tcp://*:5004"
        peer = args.peer or "tcp://localhost:5003"

    ctx = zmq.Context()
    statepub = ctx.socket(zmq.PUB)
    statepub.bind(state_bind)
    statesub = ctx.socket(zmq.SUB)
    statesub.setsockopt_string(zmq.SUBSCRIBE, "")
    statesub.connect(peer)
    frontend = ctx.socket(zmq.ROUTER)
    frontend.bind(frontend_ep)
    star = BinaryStar(args.p, args.heartbeat)
    say("I: %s, frontend %s" % ("primary" if args.p else "backup", frontend_ep))

    poller = zmq.Poller()
    poller.register(frontend, zmq.POLLIN)
    poller.register(statesub, zmq.POLLIN)
    send_state_at = time.time() + star.heartbeat
    try:
        while True:
            timeout = max(0, int((send_state_at - time.time()) * 1000))
            socks = dict(poller.poll(timeout))
            if socks.get(frontend) == zmq.POLLIN:
                msg = frontend.recv_multipart()
                if star.execute(CLIENT_REQUEST):
                    frontend.send_multipart(msg)  # the echo service
            if socks.get(statesub) == zmq.POLLIN:
                state = statesub.recv()
                star.peer_expiry = time.time() + 2 * star.heartbeat
                star.execute(int(state))
            if time.time() >= send_state_at:
                statepub.send_string("%d" % star.state)
                send_state_at = time.time() + star.heartbeat
    except FSMError:
        return 1
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main())
