/**
 * The broker's forwarding and observation logic, with its sockets injected: a manual
 * ROUTER (frontend) <-> DEALER (backend) pump that forwards every message unmodified and
 * records what it saw.
 *
 * - Forwarding: a message is passed on as the same frames it arrived with (the ROUTER's
 *   identity frame first). A full destination is waited for (`send` resolves when libzmq
 *   takes it), so a direction holds at most one message in hand and reads nothing more
 *   until it is out: back pressure reaches the sender, as in `zmq_proxy`. The two
 *   directions are independent read loops, so a blocked direction never stalls the other.
 * - Observation, per direction: messages, frames and bytes received and forwarded, drops
 *   by reason, the time a message spent inside the broker (receive -> handed to libzmq),
 *   per-peer stats in a bounded {@linkcode PeerTable} with request -> reply round trips
 *   (FIFO per identity: exact for REQ clients and for workers that answer in order), the
 *   capture copy (dropped, never waited for, when the capture socket is full).
 * - Steering: PAUSE/RESUME/TERMINATE/STATISTICS as `zmq_proxy_steerable` (see
 *   `control.ts`); `stopRequests()` for a graceful stop: no more requests are read, replies
 *   keep flowing until every request seen has its reply (or the drain budget ends).
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import { captureHeader, type Direction, TOPIC } from "./capture.ts";
import type { ControlCommand, SteerableStatistics } from "./control.ts";
import { Histogram } from "./histogram.ts";
import { type PeerStats, PeerTable } from "./peer_table.ts";
import { MetricsWriter } from "./prometheus_text.ts";

/** Where a direction sends: the allocation-free try, then the waiting send. */
export interface SendPort {
  /** Sends now if possible: true when taken, false when it would have to wait. */
  trySend(frames: Uint8Array[]): boolean;
  /** Sends, waiting for room. */
  send(frames: Uint8Array[]): Promise<void>;
}

/** Options and ports of an {@linkcode ObservableProxy}. */
export interface ObservableProxyOptions {
  clock: Clock;
  /** Wall clock (ms since the epoch) for capture headers. */
  wallNow?: () => number;
  log: Logger;
  toBackend: SendPort;
  toFrontend: SendPort;
  /** The capture socket's send: true when taken, false when full (then dropped). */
  capture?: (frames: Uint8Array[]) => boolean;
  /** Most peers tracked (bounded table). */
  maxPeers: number;
  /** Most requests per peer remembered for round trips. */
  maxPendingPerPeer: number;
  /** Recent samples kept per histogram for percentiles. */
  recentSamples?: number;
  /** Called once when TERMINATE arrives. */
  onTerminate?: () => void;
}

interface SocketCounters {
  receivedMessages: number;
  receivedFrames: number;
  receivedBytes: number;
  sentMessages: number;
  sentFrames: number;
  sentBytes: number;
}

interface DirectionCounters {
  dropped: Record<string, number>;
  dwell: Histogram;
  captureSeq: number;
  captureDropped: number;
}

/** The `stats` log event's fields. */
export interface ProxyStats {
  paused: boolean;
  accepting_requests: boolean;
  frontend: SocketCounters;
  backend: SocketCounters;
  f2b_dropped: Record<string, number>;
  b2f_dropped: Record<string, number>;
  f2b_dwell_ms: { count: number; p50: number; p99: number; max: number };
  b2f_dwell_ms: { count: number; p50: number; p99: number; max: number };
  round_trip_ms: { count: number; p50: number; p99: number; max: number };
  capture: { enabled: boolean; sent: number; dropped: number };
  peers: {
    peers: number;
    evicted: number;
    unmatched_replies: number;
    forgotten_requests: number;
    pending: number;
  };
  top_talkers: { peer: string; requests: number; replies: number; bytes: number }[];
  control: Record<string, number>;
  bad_messages: Record<string, number>;
}

const newSocket = (): SocketCounters => ({
  receivedMessages: 0,
  receivedFrames: 0,
  receivedBytes: 0,
  sentMessages: 0,
  sentFrames: 0,
  sentBytes: 0,
});

function byteLength(frames: Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < frames.length; i++) n += frames[i].byteLength;
  return n;
}

/**
 * The observable manual proxy.
 *
 * @example
 * ```ts
 * import { systemClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { ObservableProxy } from "./observable_proxy.ts";
 *
 * const out: Uint8Array[][] = [];
 * const port = { trySend: (f: Uint8Array[]) => (out.push(f), true), send: async () => {} };
 * const proxy = new ObservableProxy({ clock: systemClock, log: createMemoryLogger(),
 *   toBackend: port, toFrontend: port, maxPeers: 100, maxPendingPerPeer: 64 });
 * proxy.fromFrontend([new Uint8Array([0, 1]), new Uint8Array(), new Uint8Array([42])]);
 * proxy.stats().frontend.receivedMessages; // 1
 * ```
 */
export class ObservableProxy {
  readonly #o: ObservableProxyOptions;
  readonly #wallNow: () => number;
  readonly #frontend = newSocket();
  readonly #backend = newSocket();
  readonly #dir: Record<Direction, DirectionCounters>;
  readonly #rtt: Histogram;
  readonly #peers: PeerTable;
  readonly #control: Record<string, number> = {};
  readonly #bad: Record<string, number> = {};
  readonly #startedMs: number;
  #captureSent = 0;
  #paused = false;
  #accepting = true;
  #closed = false;
  /** Resolves when PAUSE ends (RESUME) or at close. */
  #gate: Promise<void> | null = null;
  #openGate: () => void = () => {};
  /** Resolves at close: what a stopped frontend waits for. */
  readonly #closedGate: Promise<void>;
  #resolveClosed: () => void = () => {};
  #terminated = false;

  constructor(options: ObservableProxyOptions) {
    this.#o = options;
    this.#wallNow = options.wallNow ?? Date.now;
    const recent = options.recentSamples ?? 1024;
    const direction = (): DirectionCounters => ({
      dropped: {},
      dwell: new Histogram({ recent }),
      captureSeq: 0,
      captureDropped: 0,
    });
    this.#dir = { f2b: direction(), b2f: direction() };
    this.#rtt = new Histogram({ recent });
    this.#peers = new PeerTable({
      capacity: options.maxPeers,
      maxPendingPerPeer: options.maxPendingPerPeer,
    });
    this.#closedGate = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#startedMs = options.clock.now();
  }

  /** A message read from the frontend ROUTER ([identity, ...frames]). */
  fromFrontend(frames: Uint8Array[]): void | Promise<void> {
    const now = this.#o.clock.now();
    const bytes = byteLength(frames);
    const s = this.#frontend;
    s.receivedMessages++;
    s.receivedFrames += frames.length;
    s.receivedBytes += bytes;
    if (!this.#accepting) return this.#closedGate.then(() => this.#drop("f2b", "stopping"));
    if (this.#paused) return this.#afterPause("f2b", frames, bytes, now);
    return this.#forward("f2b", frames, bytes, now);
  }

  /** A message read from the backend DEALER ([identity, ...frames] from a worker). */
  fromBackend(frames: Uint8Array[]): void | Promise<void> {
    const now = this.#o.clock.now();
    const bytes = byteLength(frames);
    const s = this.#backend;
    s.receivedMessages++;
    s.receivedFrames += frames.length;
    s.receivedBytes += bytes;
    if (frames.length < 2) {
      // Only an identity (or nothing to route by): the ROUTER could not deliver it.
      this.#drop("b2f", "no_envelope");
      this.countBad("backend");
      throw new BadMessageError(
        `expected a reply of >= 2 frames (identity, body...), got ${frames.length}`,
      );
    }
    if (this.#paused) return this.#afterPause("b2f", frames, bytes, now);
    return this.#forward("b2f", frames, bytes, now);
  }

  async #afterPause(dir: Direction, frames: Uint8Array[], bytes: number, since: number) {
    while (this.#paused && !this.#closed) await this.#gate;
    if (this.#closed) return this.#drop(dir, "stopping");
    if (dir === "f2b" && !this.#accepting) return this.#drop(dir, "stopping");
    await this.#forward(dir, frames, bytes, since);
  }

  #forward(
    dir: Direction,
    frames: Uint8Array[],
    bytes: number,
    since: number,
  ): void | Promise<void> {
    const port = dir === "f2b" ? this.#o.toBackend : this.#o.toFrontend;
    if (port.trySend(frames)) return this.#sent(dir, frames, bytes, since);
    return port.send(frames).then(
      () => this.#sent(dir, frames, bytes, since),
      (error) => {
        const code = (error as { code?: unknown })?.code;
        if (code === "ENOTSOCK" || code === "ETERM") return this.#drop(dir, "stopping");
        this.#drop(dir, "send_failed");
        this.#o.log.limited(
          "error",
          "send_failed",
          { direction: dir, error: String(error) },
          `send_failed:${dir}`,
        );
      },
    );
  }

  #sent(dir: Direction, frames: Uint8Array[], bytes: number, since: number): void {
    const now = this.#o.clock.now();
    const d = this.#dir[dir];
    d.dwell.observeMs(now - since);
    const s = dir === "f2b" ? this.#backend : this.#frontend;
    s.sentMessages++;
    s.sentFrames += frames.length;
    s.sentBytes += bytes;
    if (dir === "f2b") this.#peers.request(frames[0], bytes, since);
    else {
      const rtt = this.#peers.reply(frames[0], bytes, now);
      if (rtt >= 0) this.#rtt.observeMs(rtt);
    }
    const capture = this.#o.capture;
    if (capture !== undefined) {
      const seq = ++d.captureSeq;
      let taken = false;
      try {
        taken = capture([TOPIC[dir], captureHeader(seq, this.#wallNow()), ...frames]);
      } catch {
        taken = false; // closed at shutdown
      }
      if (taken) this.#captureSent++;
      else d.captureDropped++;
    }
  }

  #drop(dir: Direction, reason: string): void {
    const d = this.#dir[dir].dropped;
    d[reason] = (d[reason] ?? 0) + 1;
  }

  /** Counts a bad message seen on `socket` (the caller logs it). */
  countBad(socket: string): void {
    this.#bad[socket] = (this.#bad[socket] ?? 0) + 1;
  }

  /**
   * Applies a control command (counted). STATISTICS changes nothing: the caller answers it
   * with {@linkcode ObservableProxy.statistics}. TERMINATE stops taking requests and calls
   * `onTerminate` (once).
   */
  control(command: ControlCommand): void {
    this.#control[command] = (this.#control[command] ?? 0) + 1;
    switch (command) {
      case "PAUSE":
        if (!this.#paused) {
          this.#paused = true;
          this.#gate = new Promise((resolve) => (this.#openGate = resolve));
          this.#o.log.info("paused");
        }
        return;
      case "RESUME":
        if (this.#paused) {
          this.#paused = false;
          this.#openGate();
          this.#gate = null;
          this.#o.log.info("resumed");
        }
        return;
      case "TERMINATE":
        if (!this.#terminated) {
          this.#terminated = true;
          this.#o.log.info("terminate_requested");
          this.stopRequests();
          this.#o.onTerminate?.();
        }
        return;
      case "STATISTICS":
        return;
    }
  }

  /** The 8 counters of `zmq_proxy_steerable`'s STATISTICS (frames counted as libzmq does). */
  statistics(): SteerableStatistics {
    return {
      frontendReceivedMessages: this.#frontend.receivedFrames,
      frontendReceivedBytes: this.#frontend.receivedBytes,
      frontendSentMessages: this.#frontend.sentFrames,
      frontendSentBytes: this.#frontend.sentBytes,
      backendReceivedMessages: this.#backend.receivedFrames,
      backendReceivedBytes: this.#backend.receivedBytes,
      backendSentMessages: this.#backend.sentFrames,
      backendSentBytes: this.#backend.sentBytes,
    };
  }

  /** Whether PAUSE is in force. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Stops forwarding requests (graceful stop): the frontend's next message is held. */
  stopRequests(): void {
    this.#accepting = false;
  }

  /** Requests forwarded whose reply has not come back (as far as the peer table knows). */
  get pendingRequests(): number {
    return this.#peers.pending;
  }

  /** Resolves when no request waits for its reply, polling every `intervalMs`. */
  async whenRepliesSettled(signal: AbortSignal, intervalMs = 20): Promise<void> {
    while (this.#peers.pending > 0 && !signal.aborted) {
      await this.#o.clock.sleep(intervalMs, signal);
    }
  }

  /** Releases every held message (dropped as `stopping`): call when the sockets close. */
  close(): void {
    this.#closed = true;
    this.#accepting = false;
    this.#openGate();
    this.#resolveClosed();
  }

  /** The fields of the `stats` log event. */
  stats(topN = 5): ProxyStats {
    return {
      paused: this.#paused,
      accepting_requests: this.#accepting,
      frontend: { ...this.#frontend },
      backend: { ...this.#backend },
      f2b_dropped: { ...this.#dir.f2b.dropped },
      b2f_dropped: { ...this.#dir.b2f.dropped },
      f2b_dwell_ms: this.#dir.f2b.dwell.summary(),
      b2f_dwell_ms: this.#dir.b2f.dwell.summary(),
      round_trip_ms: this.#rtt.summary(),
      capture: {
        enabled: this.#o.capture !== undefined,
        sent: this.#captureSent,
        dropped: this.#dir.f2b.captureDropped + this.#dir.b2f.captureDropped,
      },
      peers: this.#peers.stats(),
      top_talkers: this.#peers.top(topN).map((p) => ({
        peer: p.peer,
        requests: p.requests,
        replies: p.replies,
        bytes: p.requestBytes + p.replyBytes,
      })),
      control: { ...this.#control },
      bad_messages: { ...this.#bad },
    };
  }

  /** The top `n` talkers with all their counters. */
  topTalkers(n: number): PeerStats[] {
    return this.#peers.top(n);
  }

  /** The Prometheus text exposition (`/metrics`); per-peer series only for the top `topN`. */
  metricsText(topN = 10): string {
    const w = new MetricsWriter();
    const dirs: Direction[] = ["f2b", "b2f"];
    const out = (d: Direction) => (d === "f2b" ? this.#backend : this.#frontend);
    const inn = (d: Direction) => (d === "f2b" ? this.#frontend : this.#backend);
    const perDirection: [string, string, (d: Direction) => number][] = [
      ["broker_received_messages_total", "Messages read.", (d) => inn(d).receivedMessages],
      ["broker_forwarded_messages_total", "Messages forwarded.", (d) => out(d).sentMessages],
      ["broker_forwarded_frames_total", "Frames forwarded.", (d) => out(d).sentFrames],
      ["broker_forwarded_bytes_total", "Bytes forwarded (all frames).", (d) => out(d).sentBytes],
    ];
    for (const [name, help, value] of perDirection) {
      w.family(
        name,
        "counter",
        `${help} by direction`,
        dirs.map((d) => ({ labels: { direction: d }, value: value(d) })),
      );
    }
    const dropped: { labels: Record<string, string>; value: number }[] = [];
    for (const d of dirs) {
      for (const [reason, n] of Object.entries(this.#dir[d].dropped)) {
        dropped.push({ labels: { direction: d, reason }, value: n });
      }
    }
    w.family(
      "broker_dropped_messages_total",
      "counter",
      "Messages not forwarded, by direction and reason.",
      dropped,
    );
    const hist = (
      name: string,
      help: string,
      parts: { labels: Record<string, string>; h: Histogram }[],
    ) => {
      const samples: { suffix: string; labels: Record<string, string>; value: number }[] = [];
      for (const { labels, h } of parts) {
        const s = h.snapshot();
        s.bounds.forEach((b, i) =>
          samples.push({
            suffix: "_bucket",
            labels: { ...labels, le: String(b) },
            value: s.cumulative[i],
          })
        );
        samples.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: s.count });
        samples.push({ suffix: "_sum", labels, value: s.sum });
        samples.push({ suffix: "_count", labels, value: s.count });
      }
      w.family(name, "histogram", help, samples);
    };
    hist(
      "broker_dwell_seconds",
      "Time a message spent inside the broker (read -> taken by libzmq).",
      dirs.map((d) => ({ labels: { direction: d }, h: this.#dir[d].dwell })),
    );
    hist("broker_round_trip_seconds", "Request read -> its reply forwarded, per identity FIFO.", [{
      labels: {},
      h: this.#rtt,
    }]);
    const ps = this.#peers.stats();
    w.family("broker_peers", "gauge", "Frontend identities tracked (bounded table).", [{
      value: ps.peers,
    }]);
    w.family("broker_peers_evicted_total", "counter", "Identities evicted from the full table.", [{
      value: ps.evicted,
    }]);
    w.family(
      "broker_pending_requests",
      "gauge",
      "Requests forwarded still waiting for their reply.",
      [{ value: ps.pending }],
    );
    w.family(
      "broker_unmatched_replies_total",
      "counter",
      "Replies with no waiting request of that identity.",
      [{ value: ps.unmatched_replies }],
    );
    const top = this.#peers.top(topN);
    const perPeer: [string, string, (p: PeerStats) => number, (p: PeerStats) => number][] = [
      ["broker_peer_messages_total", "Messages", (p) => p.requests, (p) => p.replies],
      ["broker_peer_bytes_total", "Bytes", (p) => p.requestBytes, (p) => p.replyBytes],
    ];
    for (const [name, what, f2b, b2f] of perPeer) {
      const samples = top.flatMap((p) => [
        { labels: { peer: p.peer, direction: "f2b" }, value: f2b(p) },
        { labels: { peer: p.peer, direction: "b2f" }, value: b2f(p) },
      ]);
      w.family(name, "counter", `${what} per identity (top ${topN} talkers).`, samples);
    }
    w.family("broker_capture_messages_total", "counter", "Messages copied to the capture socket.", [
      { value: this.#captureSent },
    ]);
    w.family(
      "broker_capture_dropped_total",
      "counter",
      "Capture copies dropped (capture socket full), by direction.",
      dirs.map((d) => ({ labels: { direction: d }, value: this.#dir[d].captureDropped })),
    );
    w.family(
      "broker_control_commands_total",
      "counter",
      "Control commands applied.",
      Object.entries(this.#control).map(([command, n]) => ({ labels: { command }, value: n })),
    );
    w.family(
      "broker_bad_messages_total",
      "counter",
      "Bad input logged and dropped, by socket.",
      Object.entries(this.#bad).map(([socket, n]) => ({ labels: { socket }, value: n })),
    );
    w.family("broker_paused", "gauge", "1 while PAUSE is in force.", [{
      value: this.#paused ? 1 : 0,
    }]);
    w.family("broker_uptime_seconds", "gauge", "Seconds since the broker started.", [{
      value: (this.#o.clock.now() - this.#startedMs) / 1000,
    }]);
    return w.text();
  }
}
