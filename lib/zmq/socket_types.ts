/**
 * The socket types, one class each, with their type-specific options (zeromq.js v6 names).
 *
 * @module
 */
import { SocketType } from "./constants.ts";
import { defineOptions, type Frame, Socket, type SocketOptions } from "./socket.ts";

/**
 * PAIR: one exclusive peer.
 *
 * @example
 * ```ts
 * import { Pair } from "@lib/zmq/mod.ts";
 * await using a = new Pair();
 * await a.bind("inproc://pair-example");
 * await using b = new Pair();
 * b.connect("inproc://pair-example");
 * await a.send("hi");
 * const [hi] = await b.receive();
 * ```
 */
export class Pair extends Socket {
  constructor(options: SocketOptions = {}) {
    super(SocketType.PAIR, options);
  }
}

/**
 * Options of a PUB socket.
 *
 * @example
 * ```ts
 * import { Publisher, type PublisherOptions } from "@lib/zmq/mod.ts";
 * const options: PublisherOptions = { noDrop: true, sendHighWaterMark: 100 };
 * await using socket = new Publisher(options);
 * ```
 */
export interface PublisherOptions extends SocketOptions {
  /** Block (send waits) instead of dropping when a subscriber is at its HWM. */
  noDrop?: boolean;
  conflate?: boolean;
  invertMatching?: boolean;
}

/**
 * PUB: sends every message to all subscribers whose prefix matches the first frame.
 *
 * @example
 * ```ts
 * import { Publisher } from "@lib/zmq/mod.ts";
 * await using pub = new Publisher();
 * await pub.bind("tcp://127.0.0.1:*");
 * await pub.send(["weather.nyc", "21C"]); // dropped: nobody subscribed yet
 * ```
 */
export class Publisher extends Socket {
  constructor(options: PublisherOptions = {}, type: number = SocketType.PUB) {
    super(type, options);
  }
}
export interface Publisher {
  noDrop: boolean;
  conflate: boolean;
}
defineOptions(Publisher, { noDrop: [69, "bool", true], conflate: [54, "bool", true] });

/**
 * Options of a SUB socket.
 *
 * @example
 * ```ts
 * import { Subscriber, type SubscriberOptions } from "@lib/zmq/mod.ts";
 * const options: SubscriberOptions = { conflate: true };
 * await using socket = new Subscriber(options);
 * ```
 */
export interface SubscriberOptions extends SocketOptions {
  conflate?: boolean;
  invertMatching?: boolean;
}

/**
 * SUB: receives messages whose first frame starts with a subscribed prefix.
 *
 * @example
 * ```ts
 * import { Subscriber } from "@lib/zmq/mod.ts";
 * await using sub = new Subscriber();
 * sub.connect("tcp://127.0.0.1:5556");
 * sub.subscribe("weather.");
 * ```
 */
export class Subscriber extends Socket {
  constructor(options: SubscriberOptions = {}) {
    super(SocketType.SUB, options);
  }

  /** Subscribes to prefixes; with no argument, to everything. */
  subscribe(...prefixes: Frame[]): void {
    this.setSubscriptions("subscribe", prefixes);
  }

  /** Removes subscriptions; with no argument, the subscribe-to-everything one. */
  unsubscribe(...prefixes: Frame[]): void {
    this.setSubscriptions("unsubscribe", prefixes);
  }
}
export interface Subscriber {
  conflate: boolean;
}
defineOptions(Subscriber, { conflate: [54, "bool", true] });

/**
 * Options of an XPUB socket.
 *
 * @example
 * ```ts
 * import { XPublisher, type XPublisherOptions } from "@lib/zmq/mod.ts";
 * const options: XPublisherOptions = { verbose: true, manual: false };
 * await using socket = new XPublisher(options);
 * ```
 */
export interface XPublisherOptions extends PublisherOptions {
  /** Pass every subscription upstream, not only the first for a topic (ZMQ_XPUB_VERBOSE). */
  verbose?: boolean;
  /** Also pass duplicate unsubscriptions (ZMQ_XPUB_VERBOSER). */
  verboser?: boolean;
  /** The application applies subscriptions itself with `subscribe()` (ZMQ_XPUB_MANUAL). */
  manual?: boolean;
  /** A message sent to each new subscriber (ZMQ_XPUB_WELCOME_MSG). */
  welcomeMessage?: string | null;
}

/**
 * XPUB: a PUB that also receives subscription frames (`\x01prefix` / `\x00prefix`).
 *
 * @example
 * ```ts
 * import { Subscriber, XPublisher } from "@lib/zmq/mod.ts";
 * await using xpub = new XPublisher({ verbose: true });
 * await xpub.bind("tcp://127.0.0.1:*");
 * await using sub = new Subscriber();
 * sub.connect(xpub.lastEndpoint!);
 * sub.subscribe("t");
 * const [frame] = await xpub.receive(); // frame[0] === 1: subscribe
 * ```
 */
export class XPublisher extends Publisher {
  constructor(options: XPublisherOptions = {}) {
    super(options, SocketType.XPUB);
  }

  /** In manual mode: applies a subscription for the peer that sent the last one. */
  subscribe(...prefixes: Frame[]): void {
    this.setSubscriptions("subscribe", prefixes);
  }

  /** In manual mode: removes a subscription for the peer that sent the last one. */
  unsubscribe(...prefixes: Frame[]): void {
    this.setSubscriptions("unsubscribe", prefixes);
  }
}
export interface XPublisher {
  verbose: boolean;
  verboser: boolean;
  manual: boolean;
  welcomeMessage: string | null;
}
defineOptions(XPublisher, {
  verbose: [40, "bool", true],
  verboser: [78, "bool", true],
  manual: [71, "bool", true],
  welcomeMessage: [72, "string", true],
});

/**
 * XSUB: a SUB whose subscriptions are messages (`\x01prefix` subscribe, `\x00prefix` cancel).
 *
 * @example
 * ```ts
 * import { XSubscriber } from "@lib/zmq/mod.ts";
 * await using xsub = new XSubscriber();
 * xsub.connect("tcp://127.0.0.1:5556");
 * await xsub.send(new Uint8Array([1])); // subscribe to everything
 * ```
 */
export class XSubscriber extends Socket {
  constructor(options: SocketOptions = {}) {
    super(SocketType.XSUB, options);
  }
}

/**
 * PUSH: distributes messages round-robin to connected PULL peers; blocks at HWM.
 *
 * @example
 * ```ts
 * import { Push } from "@lib/zmq/mod.ts";
 * await using push = new Push();
 * push.connect("tcp://127.0.0.1:5557");
 * await push.send("job"); // waits until a PULL peer is connected
 * ```
 */
export class Push extends Socket {
  constructor(options: SocketOptions & { conflate?: boolean } = {}) {
    super(SocketType.PUSH, options);
  }
}
export interface Push {
  conflate: boolean;
}
defineOptions(Push, { conflate: [54, "bool", true] });

/**
 * PULL: fair-queues messages from connected PUSH peers.
 *
 * @example
 * ```ts
 * import { Pull } from "@lib/zmq/mod.ts";
 * const pull = new Pull();
 * await pull.bind("tcp://127.0.0.1:*");
 * setTimeout(() => pull.close(), 100); // ends the loop
 * for await (const [job] of pull) console.log(job.byteLength);
 * ```
 */
export class Pull extends Socket {
  constructor(options: SocketOptions & { conflate?: boolean } = {}) {
    super(SocketType.PULL, options);
  }
}
export interface Pull {
  conflate: boolean;
}
defineOptions(Pull, { conflate: [54, "bool", true] });

/**
 * Options of a REQ socket.
 *
 * @example
 * ```ts
 * import { Request, type RequestOptions } from "@lib/zmq/mod.ts";
 * const options: RequestOptions = { correlate: true, relaxed: true };
 * await using socket = new Request(options);
 * ```
 */
export interface RequestOptions extends SocketOptions {
  /** Match replies to requests with a request id (ZMQ_REQ_CORRELATE). */
  correlate?: boolean;
  /** Allow a new request before the reply (ZMQ_REQ_RELAXED). */
  relaxed?: boolean;
  probeRouter?: boolean;
}

/**
 * REQ: strict send-request / receive-reply.
 *
 * @example
 * ```ts
 * import { Reply, Request } from "@lib/zmq/mod.ts";
 * await using rep = new Reply();
 * await rep.bind("tcp://127.0.0.1:*");
 * await using req = new Request();
 * req.connect(rep.lastEndpoint!);
 * await req.send("ping");
 * await rep.send(await rep.receive());
 * const [reply] = await req.receive();
 * ```
 */
export class Request extends Socket {
  constructor(options: RequestOptions = {}) {
    super(SocketType.REQ, options);
  }
}
export interface Request {
  correlate: boolean;
  relaxed: boolean;
  probeRouter: boolean;
}
defineOptions(Request, {
  correlate: [52, "bool", true],
  relaxed: [53, "bool", true],
  probeRouter: [51, "bool", true],
});

/**
 * REP: strict receive-request / send-reply.
 *
 * @example
 * ```ts
 * import { Reply } from "@lib/zmq/mod.ts";
 * const rep = new Reply();
 * await rep.bind("tcp://127.0.0.1:*");
 * setTimeout(() => rep.close(), 100); // ends the loop
 * for await (const [request] of rep) await rep.send(request); // echo
 * ```
 */
export class Reply extends Socket {
  constructor(options: SocketOptions = {}) {
    super(SocketType.REP, options);
  }
}

/**
 * DEALER: asynchronous round-robin out, fair-queued in.
 *
 * @example
 * ```ts
 * import { Dealer } from "@lib/zmq/mod.ts";
 * await using dealer = new Dealer({ routingId: "w1" });
 * dealer.connect("tcp://127.0.0.1:5555");
 * ```
 */
export class Dealer extends Socket {
  constructor(options: SocketOptions & { probeRouter?: boolean; conflate?: boolean } = {}) {
    super(SocketType.DEALER, options);
  }
}
export interface Dealer {
  probeRouter: boolean;
  conflate: boolean;
}
defineOptions(Dealer, { probeRouter: [51, "bool", true], conflate: [54, "bool", true] });

/**
 * Options of a ROUTER socket.
 *
 * @example
 * ```ts
 * import { Router, type RouterOptions } from "@lib/zmq/mod.ts";
 * const options: RouterOptions = { mandatory: true, handover: true };
 * await using socket = new Router(options);
 * ```
 */
export interface RouterOptions extends SocketOptions {
  /** Reject sends to unknown peers with EHOSTUNREACH instead of dropping them. */
  mandatory?: boolean;
  /** Alias of `mandatory` (the libzmq name). */
  routerMandatory?: boolean;
  /** A new peer with a taken routing id takes it over (ZMQ_ROUTER_HANDOVER). */
  handover?: boolean;
  probeRouter?: boolean;
}

/**
 * ROUTER: every message carries the peer's routing id as its first frame.
 *
 * @example
 * ```ts
 * import { Dealer, Router } from "@lib/zmq/mod.ts";
 * await using router = new Router({ mandatory: true });
 * await router.bind("tcp://127.0.0.1:*");
 * await using dealer = new Dealer();
 * dealer.connect(router.lastEndpoint!);
 * await dealer.send("hello");
 * const [id, ...rest] = await router.receive();
 * await router.send([id, ...rest]);
 * ```
 */
export class Router extends Socket {
  constructor(options: RouterOptions = {}) {
    super(SocketType.ROUTER, options);
  }
}
export interface Router {
  mandatory: boolean;
  routerMandatory: boolean;
  handover: boolean;
  probeRouter: boolean;
}
defineOptions(Router, {
  mandatory: [33, "bool", true],
  routerMandatory: [33, "bool", true],
  handover: [56, "bool", true],
  probeRouter: [51, "bool", true],
});

/**
 * STREAM: raw TCP; frames are [connection id, data].
 *
 * @example
 * ```ts
 * import { Stream } from "@lib/zmq/mod.ts";
 * await using stream = new Stream({ notify: true });
 * await stream.bind("tcp://127.0.0.1:*");
 * ```
 */
export class Stream extends Socket {
  constructor(options: SocketOptions & { notify?: boolean } = {}) {
    super(SocketType.STREAM, options);
  }
}
export interface Stream {
  notify: boolean;
}
defineOptions(Stream, { notify: [73, "bool", true] });
