/**
 * The client side, sans-IO: find the leader (follow redirects, otherwise try the next
 * node), retry with the same (client, seq) so a write is applied once however often it is
 * sent (the state machine's dedup table answers a retry with the first result), give up
 * after an operation deadline with the outcome unknown.
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import type { ClientReply, ClientRequest } from "./protocol.ts";

/** Sends one request to one node; resolves null on timeout. */
export type Transport = (
  endpoint: string,
  request: ClientRequest,
  timeoutMs: number,
) => Promise<ClientReply | null>;

/** One operation. */
export type Operation =
  | { kind: "put"; key: string; value: string }
  | { kind: "del"; key: string }
  | { kind: "get"; key: string };

/** Its outcome. */
export interface Outcome {
  /** ok: done; failed: definitely not done (a read); unknown: a write that may have applied. */
  status: "ok" | "unknown" | "failed";
  value: string | null;
  index: number;
  duplicate: boolean;
  attempts: number;
  redirects: number;
  /** The node that answered. */
  endpoint: string | null;
}

/** Options of {@link ClientSession}. */
export interface SessionOptions {
  nodes: string[];
  client: string;
  transport: Transport;
  clock: Pick<Clock, "now" | "sleep">;
  /** Per attempt. */
  attemptTimeoutMs: number;
  /** Per operation. */
  deadlineMs: number;
  /** Pause after a redirect without a known leader (an election is on). */
  backoffMs?: number;
  signal?: AbortSignal;
}

/**
 * One client session: a client id and its sequence of writes, one operation at a time.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { ClientSession } from "./client.ts";
 * const session = new ClientSession({
 *   nodes: ["a"], client: "c1", clock: new ManualClock(), attemptTimeoutMs: 100, deadlineMs: 1000,
 *   transport: (_ep, req) => Promise.resolve({ kind: "ok", rid: req.rid, value: null, index: 3, duplicate: false }),
 * });
 * const outcome = await session.run({ kind: "put", key: "x", value: "1" });
 * outcome.status; // "ok"
 * ```
 */
export class ClientSession {
  readonly #o: SessionOptions;
  #seq = 0;
  #next = 0;
  #leader: string | null = null;
  #rid = 0;

  constructor(options: SessionOptions) {
    if (options.nodes.length === 0) throw new RangeError("expected at least one node");
    this.#o = options;
  }

  /** The leader's endpoint as last learnt. */
  get leader(): string | null {
    return this.#leader;
  }

  /** Runs one operation to completion or its deadline. */
  async run(op: Operation): Promise<Outcome> {
    const o = this.#o;
    const write = op.kind !== "get";
    const seq = write ? ++this.#seq : 0;
    const end = o.clock.now() + o.deadlineMs;
    let attempts = 0;
    let redirects = 0;
    let maybeApplied = false;
    while (o.clock.now() < end && !o.signal?.aborted) {
      const endpoint = this.#leader ?? o.nodes[this.#next % o.nodes.length];
      const rid = `${o.client}.${++this.#rid}`;
      const request: ClientRequest = op.kind === "get"
        ? { kind: "get", rid, key: op.key }
        : op.kind === "put"
        ? { kind: "put", rid, client: o.client, seq, key: op.key, value: op.value }
        : { kind: "del", rid, client: o.client, seq, key: op.key };
      attempts++;
      if (write) maybeApplied = true;
      const timeout = Math.max(1, Math.min(o.attemptTimeoutMs, end - o.clock.now()));
      const reply = await o.transport(endpoint, request, timeout);
      if (reply === null || reply.kind === "error" || reply.kind === "status") {
        // No answer (dead, partitioned, slow) or an error: try the next node.
        this.#leader = null;
        this.#next++;
        continue;
      }
      if (reply.kind === "redirect") {
        redirects++;
        if (reply.endpoint && reply.endpoint !== endpoint) {
          this.#leader = reply.endpoint;
        } else {
          this.#leader = null;
          this.#next++;
          await o.clock.sleep(o.backoffMs ?? 50, o.signal);
        }
        continue;
      }
      this.#leader = endpoint;
      return {
        status: "ok",
        value: reply.value,
        index: reply.index,
        duplicate: reply.duplicate,
        attempts,
        redirects,
        endpoint,
      };
    }
    return {
      status: maybeApplied ? "unknown" : "failed",
      value: null,
      index: 0,
      duplicate: false,
      attempts,
      redirects,
      endpoint: null,
    };
  }
}
