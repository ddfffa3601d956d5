/**
 * The dashboard's model of the fleet: per node liveness (hysteresis, own monotonic clock),
 * health status, sequence gaps and restarts. Pure logic: heartbeats and the clock go in,
 * events and a render view come out.
 *
 * Two modes:
 * - `heartbeats` (a dashboard): every beat of the selected racks arrives; liveness
 *   changes are `node_state` events, status changes `node_status`.
 * - `alerts` (an alert system subscribed to `alert.*`): beats arrive only while a node
 *   alerts, so silence means "no longer alerting" (or dead); an alert that stops repeating
 *   for `deadAfter` intervals is `alert_cleared`. Seq gaps are expected there and not counted.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  type LivenessChange,
  PeerLiveness,
  type PeerLivenessOptions,
  type PeerState,
  SequenceTracker,
} from "@lib/patterns/mod.ts";
import { type Received, type Status } from "./protocol.ts";

/** Liveness states of a node (the peer states of `@lib/patterns`' PeerLiveness). */
export type NodeState = PeerState;

/** One event for the log (and, if `change`, for `--json` output). */
export interface MonitorEvent {
  /** snake_case event name: node_state, node_status, node_restart, seq_gap, seq_stale, alert, alert_cleared. */
  event: string;
  /** True for state changes (what `--json` prints). */
  change: boolean;
  /** Log level. */
  level: "info" | "warn";
  fields: Record<string, unknown>;
  /**
   * Set for events any sender can cause at will (seq gaps, stale beats): the rate-limit key
   * for `log.limited` (one line per key and window, with a `suppressed` count).
   */
  limit?: string;
}

/** Configuration. */
export interface FleetMonitorOptions extends Omit<PeerLivenessOptions, "clock"> {
  /** The monitor's own monotonic clock (never the sender's `ts`). */
  clock: Clock;
  mode: "heartbeats" | "alerts";
  /** Most nodes tracked; beats of further nodes are rejected as bad messages. */
  maxNodes: number;
}

/** One node, as the renderer sees it. */
export interface NodeView {
  rack: string;
  node: string;
  state: NodeState;
  status: Status;
  seq: number;
  bootId: string;
  gaps: number;
  missing: number;
  restarts: number;
  beats: number;
  metrics: Record<string, number>;
  /** Monotonic ms since the last beat. */
  silentMs: number;
}

/** Totals over the fleet. */
export interface FleetTotals {
  nodes: number;
  beats: number;
  gaps: number;
  missing: number;
  restarts: number;
  stale: number;
}

interface NodeRecord {
  rack: string;
  node: string;
  status: Status;
  beats: number;
  metrics: Record<string, number>;
}

/**
 * Feed `receive(msg)` per decoded message and `tick()` periodically; times come from the
 * injected clock (an explicit `now` is for tests that step time themselves).
 *
 * @example
 * ```ts
 * import { systemClock } from "@lib/async/mod.ts";
 * import { FleetMonitor } from "./fleet_monitor.ts";
 * import { decodeMessage, heartbeatMessages } from "./protocol.ts";
 *
 * const monitor = new FleetMonitor({
 *   clock: systemClock,
 *   mode: "heartbeats",
 *   intervalMs: 1000,
 *   maxNodes: 10_000,
 * });
 * const [[topic, payload]] = heartbeatMessages({
 *   node: "a-01", rack: "A", seq: 0, boot_id: "b1", ts: Date.now(), status: "ok", metrics: {},
 * });
 * const frames = [new TextEncoder().encode(topic), payload];
 * for (const e of monitor.receive(decodeMessage(frames))) console.log(e.event, e.fields);
 * ```
 */
export class FleetMonitor {
  readonly mode: "heartbeats" | "alerts";
  readonly #maxNodes: number;
  readonly #clock: Clock;
  readonly #liveness: PeerLiveness<string>;
  readonly #sequences: SequenceTracker<string>;
  readonly #nodes = new Map<string, NodeRecord>();
  #beats = 0;

  constructor(options: FleetMonitorOptions) {
    this.mode = options.mode;
    this.#maxNodes = options.maxNodes;
    this.#clock = options.clock;
    this.#liveness = new PeerLiveness<string>(options);
    // Alerts arrive only while a node alerts: jumps in seq are expected there.
    this.#sequences = new SequenceTracker<string>({ countGaps: options.mode === "heartbeats" });
  }

  /** The liveness tracker (for its thresholds). */
  get liveness(): PeerLiveness<string> {
    return this.#liveness;
  }

  /**
   * Takes one decoded message at monotonic time `now`. Throws `BadMessageError` when a new
   * node would exceed `maxNodes`.
   */
  receive(message: Received, now: number = this.#clock.now()): MonitorEvent[] {
    const hb = message.heartbeat;
    const key = `${hb.rack}/${hb.node}`;
    const id = { rack: hb.rack, node: hb.node };
    let record = this.#nodes.get(key);
    if (!record && this.#nodes.size >= this.#maxNodes) {
      throw new BadMessageError(`expected at most ${this.#maxNodes} nodes, got one more`);
    }
    const events: MonitorEvent[] = [];
    const verdict = this.#sequences.observe(key, hb.boot_id, hb.seq);
    switch (verdict.kind) {
      case "stale":
        events.push({
          event: "seq_stale",
          change: false,
          level: "warn",
          fields: { ...id, last_seq: verdict.lastSeq, seq: verdict.got, boot_id: hb.boot_id },
          limit: "seq_stale",
        });
        return events;
      case "gap":
        if (this.mode === "heartbeats") {
          const counts = this.#sequences.peer(key)!;
          events.push({
            event: "seq_gap",
            change: false,
            level: "warn",
            fields: {
              ...id,
              expected: verdict.expected,
              seq: verdict.got,
              missing: verdict.missing,
              gaps: counts.gaps,
            },
            limit: "seq_gap",
          });
        }
        break;
      case "restart":
        events.push({
          event: "node_restart",
          change: true,
          level: "warn",
          fields: {
            ...id,
            previous_boot_id: verdict.previousEpoch,
            boot_id: hb.boot_id,
            previous_seq: verdict.previousSeq,
            seq: hb.seq,
            restarts: this.#sequences.peer(key)!.restarts,
          },
        });
        break;
    }
    const previousStatus = record?.status;
    if (!record) {
      record = { rack: hb.rack, node: hb.node, status: hb.status, beats: 0, metrics: hb.metrics };
      this.#nodes.set(key, record);
    }
    record.status = hb.status;
    record.metrics = hb.metrics;
    record.beats++;
    this.#beats++;
    const wasState = this.#liveness.state(key);
    const change = this.#liveness.heard(key, now);
    if (this.mode === "heartbeats") {
      if (previousStatus !== hb.status) {
        events.push({
          event: "node_status",
          change: true,
          level: hb.status === "ok" ? "info" : "warn",
          fields: { ...id, from: previousStatus ?? null, to: hb.status, seq: hb.seq },
        });
      }
      if (change) events.push(this.#stateEvent(change));
    } else if (previousStatus !== hb.status || wasState === "dead") {
      events.push({
        event: "alert",
        change: true,
        level: "warn",
        fields: {
          ...id,
          alert_level: hb.status,
          from: wasState === "dead" ? null : previousStatus ?? null,
          seq: hb.seq,
        },
      });
    }
    return events;
  }

  /** Applies the passage of time up to `now`. */
  tick(now: number = this.#clock.now()): MonitorEvent[] {
    const events: MonitorEvent[] = [];
    for (const change of this.#liveness.tick(now)) {
      if (this.mode === "heartbeats") {
        events.push(this.#stateEvent(change));
      } else if (change.to === "dead") {
        const record = this.#nodes.get(change.peer)!;
        events.push({
          event: "alert_cleared",
          change: true,
          level: "info",
          fields: {
            rack: record.rack,
            node: record.node,
            alert_level: record.status,
            silent_ms: change.silentMs,
          },
        });
      }
    }
    return events;
  }

  /** Every node, sorted by rack then node, at monotonic time `now`. */
  nodes(now: number = this.#clock.now()): NodeView[] {
    const out: NodeView[] = [];
    for (const [key, r] of this.#nodes) {
      const seq = this.#sequences.peer(key)!;
      out.push({
        rack: r.rack,
        node: r.node,
        state: this.#liveness.state(key),
        status: r.status,
        seq: seq.lastSeq,
        bootId: seq.epoch,
        gaps: seq.gaps,
        missing: seq.missing,
        restarts: seq.restarts,
        beats: r.beats,
        metrics: r.metrics,
        silentMs: this.#liveness.silentMs(key, now) ?? 0,
      });
    }
    return out.sort((a, b) =>
      a.rack === b.rack ? a.node.localeCompare(b.node) : a.rack.localeCompare(b.rack)
    );
  }

  /** Fleet totals. */
  totals(): FleetTotals {
    const t = this.#sequences.totals();
    return {
      nodes: this.#nodes.size,
      beats: this.#beats,
      gaps: t.gaps,
      missing: t.missing,
      restarts: t.restarts,
      stale: t.stale,
    };
  }

  #stateEvent(change: LivenessChange<string>): MonitorEvent {
    const record = this.#nodes.get(change.peer)!;
    return {
      event: "node_state",
      change: true,
      level: change.to === "alive" ? "info" : "warn",
      fields: {
        rack: record.rack,
        node: record.node,
        from: change.from,
        to: change.to,
        silent_ms: change.silentMs,
        missed: change.missed,
        boot_id: this.#sequences.peer(change.peer)!.epoch,
      },
    };
  }
}
