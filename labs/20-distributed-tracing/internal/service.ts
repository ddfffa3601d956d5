/**
 * One hop of the service chain (sans-IO): takes a request from upstream, continues or
 * restarts its W3C trace context, records a SERVER span (and a CLIENT span for the call to
 * the next hop), forwards the request with a new traceparent in its own frame, matches the
 * reply, and answers upstream. Spans go to `port.exportSpan` (the bounded exporter): the
 * request path never waits for telemetry.
 *
 * Trace context handling (W3C Trace Context §3.2.4, §3.3, §3.5, §4.3):
 * - a valid incoming traceparent is continued: same trace id, the sender's span as parent,
 *   the sampled flag obeyed (ParentBased), tracestate parsed and our entry (`lab20=<name>`)
 *   moved to the front;
 * - absent or invalid (any reason) → the trace restarts: a new trace id, head sampling by
 *   ratio, and the tracestate is not parsed or propagated (§3.3: "MUST NOT attempt to parse
 *   tracestate" when traceparent failed);
 * - an invalid tracestate alone is discarded; the traceparent stands.
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import type { Random } from "@lib/random/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import type { HeadSampler, IdGenerator } from "./ids.ts";
import {
  decodeReply,
  decodeRequest,
  decodeRequestBody,
  encodeReply,
  encodeRequest,
  type RequestBody,
  text,
} from "./protocol.ts";
import { type SpanEvent, SpanKind, type SpanRecord, StatusCode } from "./span.ts";
import {
  formatTraceParent,
  formatTraceState,
  isSampled,
  parseTraceParent,
  parseTraceState,
  updateTraceState,
} from "./trace_context.ts";

/** Our own tracestate key (§3.3.1.3.1 simple-key). */
export const TRACESTATE_KEY = "lab20";

/** What the hop needs from the outside world. */
export interface HopPort {
  /** Monotonic ms: deadlines, work timers. */
  clock: Clock;
  /** Unix epoch ms with a fraction: span times. */
  wallNow(): number;
  /** Answers upstream: `route` (the ROUTER's routing frames) then `frames`. */
  reply(route: Uint8Array[], frames: Uint8Array[]): void;
  /** Sends to the next hop without waiting; false = refused (its queue is full). */
  forward(frames: Uint8Array[]): boolean;
  /** Hands a finished span to the exporter (never blocks). */
  exportSpan(span: SpanRecord): void;
  log: Logger;
}

/** How the hop behaves. */
export interface HopOptions {
  /** This service's name (`service.name`; also the tracestate value). */
  name: string;
  /** The next hop's endpoint, or undefined for the last hop. */
  next?: string;
  /** false: no trace context read or written, no spans (the benchmark's baseline). */
  tracing: boolean;
  sampler: HeadSampler;
  ids: IdGenerator;
  /** Simulated work per request, ms (0 = none). */
  workMs: number;
  /** Share of requests this hop fails on purpose (0..1). */
  failRate: number;
  random: Random;
  /** How long to wait for the next hop. */
  timeoutMs: number;
  /** Requests waiting on the next hop at most; more are refused with an error reply. */
  maxInFlight: number;
}

/** Hop counters. */
export interface HopStats {
  requests: number;
  ok: number;
  errors: number;
  /** Traces started here: no traceparent came in. */
  roots: number;
  /** Traces restarted here because the incoming traceparent was invalid. */
  restarted: number;
  /** Incoming tracestate headers discarded as invalid. */
  tracestateDiscarded: number;
  /** Requests whose trace is sampled (spans recorded). */
  sampled: number;
  timeouts: number;
  lateReplies: number;
  inFlight: number;
}

interface Pending {
  route: Uint8Array[];
  requestId: Uint8Array;
  traceId: string;
  spanId: string;
  parentId: string;
  sampled: boolean;
  traceState: string;
  startMs: number;
  item: string;
  events: SpanEvent[];
  // The call to the next hop, once made.
  call?: { spanId: string; startMs: number; deadline: number; key: string };
}

/** One service hop; see the module doc. */
export class ServiceHop {
  readonly #port: HopPort;
  readonly #o: HopOptions;
  readonly #waiting = new Map<string, Pending>();
  #nextRequestId = 0;
  #stats: HopStats = {
    requests: 0,
    ok: 0,
    errors: 0,
    roots: 0,
    restarted: 0,
    tracestateDiscarded: 0,
    sampled: 0,
    timeouts: 0,
    lateReplies: 0,
    inFlight: 0,
  };
  #busy = 0; // requests taken and not answered yet (work timers included)
  // The tracestate a hop receives is nearly always the one it received last time: the
  // outgoing value for it is remembered (one entry) instead of parsed again.
  #stateIn: string | null = null;
  #stateOut = "";
  #stateOk = true;

  /**
   * @example
   * ```ts
   * import { ManualClock } from "@lib/async/mod.ts";
   * import { seededRandom } from "@lib/random/mod.ts";
   * import { createMemoryLogger } from "@lib/role/mod.ts";
   * import { HeadSampler, IdGenerator, randomBytesFrom } from "./ids.ts";
   * import { ServiceHop } from "./service.ts";
   * const hop = new ServiceHop({
   *   clock: new ManualClock(),
   *   wallNow: () => 0,
   *   reply: () => {},
   *   forward: () => true,
   *   exportSpan: () => {},
   *   log: createMemoryLogger(),
   * }, {
   *   name: "inventory",
   *   tracing: true,
   *   sampler: new HeadSampler(1),
   *   ids: new IdGenerator(randomBytesFrom(seededRandom(1))),
   *   workMs: 0,
   *   failRate: 0,
   *   random: seededRandom(2),
   *   timeoutMs: 1000,
   *   maxInFlight: 100,
   * });
   * hop.stats().requests; // 0
   * ```
   */
  constructor(port: HopPort, options: HopOptions) {
    this.#port = port;
    this.#o = options;
  }

  /**
   * A request from upstream: `route` are the ROUTER's routing frames, `frames` the rest.
   * Throws `BadMessageError` for a malformed envelope (dropped: there is nobody to answer
   * reliably) and, after answering with an error reply, for a malformed body.
   */
  onRequest(route: Uint8Array[], frames: Uint8Array[]): void {
    const env = decodeRequest(frames);
    this.#stats.requests++;
    const p = this.#context(route, env.requestId, env.traceparent, env.tracestate);
    this.#busy++;
    let body: RequestBody;
    try {
      body = decodeRequestBody(env.body);
    } catch (error) {
      this.#finish(p, false, `bad request: ${(error as BadMessageError).reason}`);
      throw error;
    }
    p.item = body.item;
    if (
      body.failAt === this.#o.name || (this.#o.failRate > 0 && this.#o.random() < this.#o.failRate)
    ) {
      p.events.push({
        name: "exception",
        timeMs: this.#port.wallNow(),
        attributes: {
          "exception.type": "InjectedFailure",
          "exception.message": `${this.#o.name} failed this request on purpose`,
        },
      });
      this.#finish(p, false, `${this.#o.name}: injected failure`);
      return;
    }
    if (this.#o.workMs > 0) {
      this.#port.clock.setTimer(this.#o.workMs, () => this.#proceed(p, env.body));
    } else {
      this.#proceed(p, env.body);
    }
  }

  /** A reply from the next hop. Throws `BadMessageError` when malformed. */
  onReply(frames: Uint8Array[]): void {
    const reply = decodeReply(frames);
    const key = text(reply.requestId);
    const p = this.#waiting.get(key);
    if (!p || !p.call) {
      this.#stats.lateReplies++; // timed out already, or not ours
      return;
    }
    this.#waiting.delete(key);
    const message = reply.ok ? undefined : `next hop failed: ${text(reply.body).slice(0, 200)}`;
    this.#endCall(p, reply.ok, message, reply.traceresponse);
    this.#finish(p, reply.ok, reply.ok ? reply.body : "downstream error", message);
  }

  /** Expires calls to the next hop past their deadline (monotonic `now`). */
  tick(now: number): void {
    for (const [key, p] of this.#waiting) {
      if (p.call && now >= p.call.deadline) {
        this.#waiting.delete(key);
        this.#stats.timeouts++;
        const message = `next hop timed out after ${this.#o.timeoutMs} ms`;
        this.#endCall(p, false, message);
        this.#finish(p, false, message);
      }
    }
  }

  /** Requests taken and not answered yet. */
  get busy(): number {
    return this.#busy;
  }

  /** Answers every request still waiting with an error (at shutdown, past the drain). */
  abandon(): number {
    const n = this.#waiting.size;
    for (const p of this.#waiting.values()) {
      this.#endCall(p, false, "stopped");
      this.#finish(p, false, "service stopping");
    }
    this.#waiting.clear();
    return n;
  }

  /** The counters. */
  stats(): HopStats {
    return { ...this.#stats, inFlight: this.#waiting.size };
  }

  #context(
    route: Uint8Array[],
    requestId: Uint8Array,
    traceparent: string,
    tracestate: string,
  ): Pending {
    const base = { route, requestId, startMs: this.#port.wallNow(), item: "", events: [] };
    if (!this.#o.tracing) {
      return { ...base, traceId: "", spanId: "", parentId: "", sampled: false, traceState: "" };
    }
    const parsed = parseTraceParent(traceparent);
    let traceState: string;
    let traceId: string;
    let parentId = "";
    let sampled: boolean;
    if (parsed.ok) {
      traceId = parsed.value.traceId;
      parentId = parsed.value.parentId;
      sampled = this.#o.sampler.sampleChild(isSampled(parsed.value));
      if (tracestate !== this.#stateIn) {
        const state = parseTraceState(tracestate);
        this.#stateIn = tracestate;
        this.#stateOk = state.ok;
        if (!state.ok) {
          this.#port.log.limited("debug", "tracestate_discarded", { reason: state.error });
        }
        this.#stateOut = formatTraceState(
          updateTraceState(state.ok ? state.entries : [], TRACESTATE_KEY, this.#o.name),
        );
      }
      if (!this.#stateOk) this.#stats.tracestateDiscarded++;
      traceState = this.#stateOut;
    } else {
      if (parsed.error === "absent") this.#stats.roots++;
      else {
        this.#stats.restarted++;
        this.#port.log.limited("info", "trace_restarted", {
          reason: parsed.error,
          traceparent: traceparent.slice(0, 80),
        });
      }
      traceId = this.#o.ids.traceId();
      sampled = this.#o.sampler.sampleRoot(traceId);
      traceState = `${TRACESTATE_KEY}=${this.#o.name}`; // §3.3: a restarted trace starts anew
    }
    if (sampled) this.#stats.sampled++;
    return { ...base, traceId, spanId: this.#o.ids.spanId(), parentId, sampled, traceState };
  }

  #proceed(p: Pending, body: Uint8Array): void {
    if (!this.#o.next) {
      this.#finish(p, true, encode({ item: p.item, servedBy: this.#o.name }));
      return;
    }
    if (this.#waiting.size >= this.#o.maxInFlight) {
      this.#finish(p, false, `${this.#o.name}: overloaded (${this.#o.maxInFlight} in flight)`);
      return;
    }
    const key = String(++this.#nextRequestId);
    const spanId = this.#o.tracing ? this.#o.ids.spanId() : "";
    p.call = {
      spanId,
      startMs: this.#port.wallNow(),
      deadline: this.#port.clock.now() + this.#o.timeoutMs,
      key,
    };
    const traceparent = this.#o.tracing ? formatTraceParent(p.traceId, spanId, p.sampled) : "";
    this.#waiting.set(key, p);
    if (!this.#port.forward(encodeRequest(key, traceparent, p.traceState, body))) {
      this.#waiting.delete(key);
      const message = "next hop unavailable (send queue full)";
      this.#endCall(p, false, message);
      this.#finish(p, false, message);
    }
  }

  #endCall(p: Pending, ok: boolean, message?: string, traceresponse = ""): void {
    if (!p.call || !p.sampled || !this.#o.tracing) return;
    const attributes: SpanRecord["attributes"] = {
      "rpc.system": "zeromq",
      "zmq.socket_type": "DEALER",
      "server.address": this.#o.next ?? "",
    };
    if (traceresponse) attributes["w3c.traceresponse"] = traceresponse;
    this.#port.exportSpan({
      traceId: p.traceId,
      spanId: p.call.spanId,
      parentSpanId: p.spanId,
      service: this.#o.name,
      name: "call next",
      kind: SpanKind.CLIENT,
      startMs: p.call.startMs,
      endMs: this.#port.wallNow(),
      attributes,
      events: [],
      status: ok ? { code: StatusCode.UNSET } : { code: StatusCode.ERROR, message },
      traceState: p.traceState,
    });
  }

  #finish(p: Pending, ok: boolean, body: Uint8Array | string, message?: string): void {
    this.#busy--;
    if (ok) this.#stats.ok++;
    else this.#stats.errors++;
    const traceresponse = this.#o.tracing ? formatTraceParent(p.traceId, p.spanId, p.sampled) : "";
    const endMs = this.#port.wallNow(); // the span ends as the reply leaves
    this.#port.reply(p.route, encodeReply(p.requestId, ok, traceresponse, body));
    if (!p.sampled || !this.#o.tracing) return;
    this.#port.exportSpan({
      traceId: p.traceId,
      spanId: p.spanId,
      parentSpanId: p.parentId,
      service: this.#o.name,
      name: "handle request",
      kind: SpanKind.SERVER,
      startMs: p.startMs,
      endMs,
      attributes: {
        "rpc.system": "zeromq",
        "zmq.socket_type": "ROUTER",
        "request.id": text(p.requestId).slice(0, 64),
        "request.item": p.item,
      },
      events: p.events,
      status: ok
        ? { code: StatusCode.UNSET }
        : { code: StatusCode.ERROR, message: message ?? (typeof body === "string" ? body : "") },
      traceState: p.traceState,
    });
  }
}
