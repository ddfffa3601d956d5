/**
 * What the analyst terminal knows: the latest value per topic, with its age and the
 * latency it arrived with, and counters. Pure logic with an injected clock.
 *
 * Replays: the broker re-sends cached values (header `replay: true`) whenever a new
 * subscription arrives, and a PUB/XPUB socket delivers a message to *every* subscriber
 * whose prefix matches, so a terminal that is already subscribed also receives the
 * replays triggered by a later joiner. A replay whose `seq` is not newer than what the
 * terminal already has is a duplicate and is ignored (counted, not shown as new).
 *
 * @module
 */
import type { UpdateHeader } from "./protocol.ts";

/** The latest state of one topic. */
export interface TopicState {
  topic: string;
  seq: number;
  /** Source timestamp of the value (ms since epoch). */
  ts: number;
  units: string;
  schema: string;
  /** Decoded value, or null when the payload schema is unknown. */
  value: number | null;
  payloadBytes: number;
  /** Local time it was received. */
  receivedAt: number;
  /** receivedAt - ts for a live update; for a replay, the age at arrival. */
  latencyMs: number;
  replay: boolean;
}

/** How an update was taken. */
export type Verdict = "live" | "replay" | "duplicate";

/** Counters of a {@linkcode TerminalState}. */
export interface TerminalStats {
  received: number;
  live: number;
  replays: number;
  duplicates: number;
  /** Updates missing between consecutive live seqs of a topic. */
  gaps: number;
  bad: number;
  topics: number;
  evicted: number;
}

/**
 * Latest value per topic, bounded to `maxTopics` (least recently updated evicted).
 *
 * @example
 * ```ts
 * import { READING_SCHEMA } from "./protocol.ts";
 * import { TerminalState } from "./terminal_state.ts";
 * const header = { seq: 1, ts: Date.now(), units: "degC", schema: READING_SCHEMA };
 * const state = new TerminalState({ maxTopics: 1000, now: Date.now });
 * const { verdict } = state.accept("plant/temperature/00000", header, 21.5, 20);
 * console.log(verdict); // "live"
 * ```
 */
export class TerminalState {
  readonly #topics = new Map<string, TopicState>();
  readonly #maxTopics: number;
  readonly #now: () => number;
  #stats: TerminalStats = {
    received: 0,
    live: 0,
    replays: 0,
    duplicates: 0,
    gaps: 0,
    bad: 0,
    topics: 0,
    evicted: 0,
  };

  constructor(options: { maxTopics: number; now: () => number }) {
    if (!(options.maxTopics >= 1)) {
      throw new RangeError(`expected maxTopics >= 1, got ${options.maxTopics}`);
    }
    this.#maxTopics = options.maxTopics;
    this.#now = options.now;
  }

  /** Takes one update; returns the verdict and the topic's state after it. */
  accept(
    topic: string,
    header: UpdateHeader,
    value: number | null,
    payloadBytes: number,
  ): { verdict: Verdict; state: TopicState } {
    const now = this.#now();
    this.#stats.received++;
    const existing = this.#topics.get(topic);
    if (header.replay && existing && header.seq <= existing.seq) {
      this.#stats.duplicates++;
      return { verdict: "duplicate", state: existing };
    }
    if (!header.replay && existing && !existing.replay && header.seq > existing.seq + 1) {
      this.#stats.gaps += header.seq - existing.seq - 1;
    }
    const state: TopicState = {
      topic,
      seq: header.seq,
      ts: header.ts,
      units: header.units,
      schema: header.schema,
      value,
      payloadBytes,
      receivedAt: now,
      latencyMs: now - header.ts,
      replay: header.replay === true,
    };
    if (existing) this.#topics.delete(topic);
    this.#topics.set(topic, state);
    if (this.#topics.size > this.#maxTopics) {
      this.#topics.delete(this.#topics.keys().next().value!);
      this.#stats.evicted++;
    }
    if (state.replay) this.#stats.replays++;
    else this.#stats.live++;
    return { verdict: state.replay ? "replay" : "live", state };
  }

  /** Counts a malformed message. */
  bad(): void {
    this.#stats.bad++;
  }

  /** Counters so far. */
  stats(): TerminalStats {
    return { ...this.#stats, topics: this.#topics.size };
  }

  /** The state of one topic. */
  get(topic: string): TopicState | undefined {
    return this.#topics.get(topic);
  }

  /** Topic states sorted by topic (at most `limit`). */
  rows(limit: number): TopicState[] {
    return [...this.#topics.values()]
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))
      .slice(0, limit);
  }
}

function fmtMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${ms.toFixed(1)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${(ms / 60_000).toFixed(1)}m`;
}

/**
 * Renders a table of topic states for people: value, units, seq, age (now - ts) and
 * the latency each value arrived with.
 *
 * @example
 * ```ts
 * import { renderTable, TerminalState } from "./terminal_state.ts";
 * const state = new TerminalState({ maxTopics: 1000, now: Date.now });
 * console.log(renderTable(state.rows(40), state.stats(), Date.now()).join("\n"));
 * ```
 */
export function renderTable(rows: TopicState[], stats: TerminalStats, now: number): string[] {
  const width = Math.max(5, ...rows.map((r) => r.topic.length));
  const lines = [
    `${"TOPIC".padEnd(width)}  ${"VALUE".padStart(12)} ${"UNITS".padEnd(6)} ${"SEQ".padStart(8)} ${
      "AGE".padStart(8)
    } ${"LATENCY".padStart(9)}`,
  ];
  for (const r of rows) {
    const value = r.value === null ? `<${r.payloadBytes}B>` : r.value.toFixed(3);
    const latency = r.replay ? "replay" : fmtMs(r.latencyMs);
    lines.push(
      `${r.topic.padEnd(width)}  ${value.padStart(12)} ${r.units.padEnd(6)} ${
        String(r.seq).padStart(8)
      } ${fmtMs(now - r.ts).padStart(8)} ${latency.padStart(9)}`,
    );
  }
  lines.push(
    `topics=${stats.topics} received=${stats.received} live=${stats.live} replays=${stats.replays} ` +
      `duplicates=${stats.duplicates} gaps=${stats.gaps} bad=${stats.bad}`,
  );
  return lines;
}
