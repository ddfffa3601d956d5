/**
 * One client's outbox: per-client backpressure on top of the WebSocket's `bufferedAmount`.
 *
 * `bufferedAmount` counts what `send` queued and the socket has not taken yet; within one
 * event-loop turn it grows with every send even for a fast reader (the writes complete in
 * later turns), so it is judged at each tick (between turns): a client whose unsent bytes
 * at a tick exceed `highWater`, or exceed `hardWater` at any send, is behind. While it is
 * not, every update is sent at once (`live`). Once behind it is `conflating`: nothing more
 * is written to its socket; the
 * outbox keeps only the latest update of each topic (at most `maxTopics` topics), and each
 * tick, once the socket has drained under `lowWater`, it sends those latest values (marked
 * `conflated`, with how many updates each replaced) up to `highWater`, and goes back to
 * `live` when none are left. A client that makes no progress for `slowTimeoutMs` (its
 * buffer never drains under `lowWater`), or whose conflated topics would exceed
 * `maxTopics`, is `closed` (close code 4408). So a client costs at most `highWater` plus one
 * `hardWater` bytes of socket buffer and `maxTopics` entries, and never makes the bridge wait.
 *
 * Sans-IO: the caller passes `bufferedAmount` and the clock's `now`, and performs the sends.
 *
 * @module
 */

import { Fsm, type FsmTable } from "@lib/patterns/fsm.ts";
import { conflatedJson, type DataEntry } from "./protocol.ts";

/** Outbox states. */
export type OutboxState = "live" | "conflating" | "closed";
/** Outbox events. */
export type OutboxEvent = "offer" | "tick" | "emptied";
/** Outbox actions (performed by {@link Outbox}). */
export type OutboxAction = "send" | "queue" | "conflate" | "flush" | "close";

/** The outbox as a state × event table (guards by name, tried in order). */
export const OUTBOX_TABLE: FsmTable<OutboxState, OutboxEvent, OutboxAction> = {
  states: ["live", "conflating", "closed"],
  events: ["offer", "tick", "emptied"],
  initial: "live",
  cells: {
    live: {
      offer: [
        { when: "over_hard_water", next: "conflating", action: "queue" },
        { next: "live", action: "send" },
      ],
      tick: [
        { when: "over_high_water", next: "conflating", action: "conflate" },
        { next: "live" },
      ],
    },
    conflating: {
      offer: [
        { when: "too_many_topics", next: "closed", action: "close" },
        { next: "conflating", action: "queue" },
      ],
      tick: [
        { when: "stalled", next: "closed", action: "close" },
        { when: "under_low_water", next: "conflating", action: "flush" },
        { next: "conflating" },
      ],
      emptied: { next: "live" },
    },
    closed: { offer: { next: "closed" }, tick: { next: "closed" } },
  },
};

/** Outbox bounds. */
export interface OutboxOptions {
  /** Unsent bytes at a tick at which the client starts conflating. */
  highWater: number;
  /** Unsent bytes at a send at which the client starts conflating at once. */
  hardWater: number;
  /** Unsent bytes under which conflated values are sent again. */
  lowWater: number;
  /** Most distinct topics held while conflating; one more closes the client. */
  maxTopics: number;
  /** Conflating without progress this long closes the client. */
  slowTimeoutMs: number;
}

/** What {@link Outbox.offer} tells the caller to do. */
export type OfferResult = "send" | "queued" | "close" | "dropped";

/** What {@link Outbox.tick} tells the caller to do. */
export interface TickResult {
  /** Frames to send now, in order. */
  send: string[];
  /** Close the client with 4408. */
  close: boolean;
  /** The client fell behind at this tick (it was live). */
  conflating?: boolean;
}

/** Counters of one outbox. */
export interface OutboxStats {
  state: OutboxState;
  /** Updates sent as they came. */
  sent: number;
  /** Conflated values sent. */
  conflated: number;
  /** Updates replaced by a newer one of their topic (never sent). */
  skipped: number;
  /** Topics waiting now. */
  pending: number;
  /** Times the client went from live to conflating. */
  episodes: number;
}

/**
 * A client's outbox.
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.ts";
 * const box = new Outbox(
 *   { highWater: 100, hardWater: 400, lowWater: 10, maxTopics: 10, slowTimeoutMs: 5000 },
 *   0,
 * );
 * box.offer({ seq: 1, topic: "a", json: "{}" }, 0, 0); // "send"
 * box.offer({ seq: 2, topic: "a", json: "{}" }, 500, 1); // "queued": now conflating
 * box.tick(0, 2).send.length; // 1: the latest value of "a", marked conflated
 * ```
 */
export class Outbox {
  readonly #options: OutboxOptions;
  readonly #fsm: Fsm<OutboxState, OutboxEvent, OutboxAction>;
  readonly #pending = new Map<string, { entry: DataEntry; skipped: number }>();
  #buffered = 0;
  #sampled = 0;
  #now: number;
  #progressAt: number;
  #topic = "";
  #sent = 0;
  #conflated = 0;
  #skipped = 0;
  #episodes = 0;

  constructor(options: OutboxOptions, now: number) {
    if (!(options.lowWater <= options.highWater && options.highWater <= options.hardWater)) {
      throw new RangeError("expected lowWater <= highWater <= hardWater");
    }
    this.#options = options;
    this.#now = now;
    this.#progressAt = now;
    this.#fsm = new Fsm(OUTBOX_TABLE, {
      over_high_water: () => this.#sampled > this.#options.highWater,
      over_hard_water: () => this.#buffered > this.#options.hardWater,
      too_many_topics: () =>
        !this.#pending.has(this.#topic) && this.#pending.size >= this.#options.maxTopics,
      stalled: () => this.#now - this.#progressAt > this.#options.slowTimeoutMs,
      under_low_water: () => this.#buffered <= this.#options.lowWater,
    });
  }

  /** The current state. */
  get state(): OutboxState {
    return this.#fsm.state;
  }

  /** Offers one update; `buffered` is the socket's `bufferedAmount` now. */
  offer(entry: DataEntry, buffered: number, now: number): OfferResult {
    this.#buffered = buffered;
    this.#now = now;
    this.#topic = entry.topic;
    const wasLive = this.#fsm.state === "live";
    const result = this.#fsm.fire("offer");
    if (!result.ok) return "dropped";
    switch (result.action) {
      case "send":
        this.#sent++;
        return "send";
      case "queue": {
        if (wasLive) {
          this.#episodes++;
          this.#progressAt = now;
        }
        const held = this.#pending.get(entry.topic);
        if (held) {
          this.#pending.delete(entry.topic); // re-insert: newest last
          this.#skipped++;
        }
        this.#pending.set(entry.topic, { entry, skipped: held ? held.skipped + 1 : 0 });
        return "queued";
      }
      case "close":
        this.#pending.clear();
        return "close";
      default:
        return "dropped";
    }
  }

  /** Runs the timers: sends conflated values when the socket drained; closes a stalled one. */
  tick(buffered: number, now: number): TickResult {
    this.#buffered = buffered;
    this.#sampled = buffered;
    this.#now = now;
    const result = this.#fsm.fire("tick");
    if (!result.ok) return { send: [], close: false };
    if (result.action === "conflate") {
      this.#episodes++;
      this.#progressAt = now;
      return { send: [], close: false, conflating: true };
    }
    if (result.action === "close") {
      this.#pending.clear();
      return { send: [], close: true };
    }
    if (result.action !== "flush") return { send: [], close: false };
    this.#progressAt = now;
    const send: string[] = [];
    let budget = this.#options.highWater - buffered;
    for (const [topic, { entry, skipped }] of this.#pending) {
      if (budget <= 0) break;
      const json = conflatedJson(entry.json, skipped);
      send.push(json);
      budget -= json.length;
      this.#pending.delete(topic);
      this.#conflated++;
    }
    if (this.#pending.size === 0) this.#fsm.fire("emptied");
    return { send, close: false };
  }

  /** Counters. */
  stats(): OutboxStats {
    return {
      state: this.#fsm.state,
      sent: this.#sent,
      conflated: this.#conflated,
      skipped: this.#skipped,
      pending: this.#pending.size,
      episodes: this.#episodes,
    };
  }
}
