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
import { type Heartbeat, type Received, type Status } from "./protocol.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { type LivenessOptions, LivenessTracker, type NodeState } from "./liveness_tracker.ts";
import { checkSequence } from "./sequence_checker.ts";

/** One event for the log (and, if `change`, for `--json` output). */
export interface MonitorEvent {
  /** snake_case event name: node_state, node_status, node_restart, seq_gap, seq_stale, alert, alert_cleared. */
  event: string;
  /** True for state changes (what `--json` prints). */
  change: boolean;
  /** Log level. */
  level: "info" | "warn";
  fields: Record<string, unknown>;
}

/** Configuration. */
export interface FleetMonitorOptions extends LivenessOptions {
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
  bootId: string;
  lastSeq: number;
  status: Status;
  gaps: number;
  missing: number;
  restarts: number;
  beats: number;
  metrics: Record<string, number>;
}

/**
 * Feed `receive(msg, now)` per decoded message and `tick(now)` periodically.
 *
 * @example
 * ```ts
 * const monitor = new FleetMonitor({ mode: "heartbeats", intervalMs: 1000, maxNodes: 10000 });
 * for (const e of monitor.receive(decodeMessage(frames), performance.now())) log.info(e.event, e.fields);
 * ```
 */
export class FleetMonitor {
  readonly mode: "heartbeats" | "alerts";
  readonly #maxNodes: number;
  readonly #tracker: LivenessTracker<string>;
  readonly #nodes = new Map<string, NodeRecord>();
  #beats = 0;
  #stale = 0;

  constructor(options: FleetMonitorOptions) {
    this.mode = options.mode;
    this.#maxNodes = options.maxNodes;
    this.#tracker = new LivenessTracker<string>(options);
  }

  /** The liveness tracker (for its thresholds). */
  get tracker(): LivenessTracker<string> {
    return this.#tracker;
  }

  /**
   * Takes one decoded message at monotonic time `now`. Throws `BadMessageError` when a new
   * node would exceed `maxNodes`.
   */
  receive(message: Received, now: number): MonitorEvent[] {
    const hb = message.heartbeat;
    const key = `${hb.rack}/${hb.node}`;
    const id = { rack: hb.rack, node: hb.node };
    let record = this.#nodes.get(key);
    if (!record && this.#nodes.size >= this.#maxNodes) {
      throw new BadMessageError(
        `node ${key}: expected at most ${this.#maxNodes} nodes, got one more`,
      );
    }
    const events: MonitorEvent[] = [];
    const verdict = checkSequence(
      record && { bootId: record.bootId, lastSeq: record.lastSeq },
      hb.boot_id,
      hb.seq,
    );
    switch (verdict.kind) {
      case "stale":
        this.#stale++;
        events.push({
          event: "seq_stale",
          change: false,
          level: "warn",
          fields: { ...id, last_seq: verdict.lastSeq, seq: verdict.got, boot_id: hb.boot_id },
        });
        return events;
      case "gap":
        if (this.mode === "heartbeats" && record) {
          record.gaps++;
          record.missing += verdict.missing;
          events.push({
            event: "seq_gap",
            change: false,
            level: "warn",
            fields: {
              ...id,
              expected: verdict.expected,
              seq: verdict.got,
              missing: verdict.missing,
              gaps: record.gaps,
            },
          });
        }
        break;
      case "restart":
        record!.restarts++;
        events.push({
          event: "node_restart",
          change: true,
          level: "warn",
          fields: {
            ...id,
            previous_boot_id: verdict.previousBootId,
            boot_id: hb.boot_id,
            previous_seq: verdict.previousSeq,
            seq: hb.seq,
            restarts: record!.restarts,
          },
        });
        break;
    }
    const previousStatus = record?.status;
    if (!record) {
      record = this.#newRecord(hb);
      this.#nodes.set(key, record);
    }
    record.bootId = hb.boot_id;
    record.lastSeq = hb.seq;
    record.status = hb.status;
    record.metrics = hb.metrics;
    record.beats++;
    this.#beats++;
    const wasState = this.#tracker.state(key);
    const transition = this.#tracker.beat(key, now);
    if (this.mode === "heartbeats") {
      if (previousStatus !== hb.status) {
        events.push({
          event: "node_status",
          change: true,
          level: hb.status === "ok" ? "info" : "warn",
          fields: { ...id, from: previousStatus ?? null, to: hb.status, seq: hb.seq },
        });
      }
      if (transition) {
        events.push(this.#stateEvent(key, transition.from, transition.to, transition));
      }
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
  tick(now: number): MonitorEvent[] {
    const events: MonitorEvent[] = [];
    for (const t of this.#tracker.tick(now)) {
      if (this.mode === "heartbeats") {
        events.push(this.#stateEvent(t.key, t.from, t.to, t));
      } else if (t.to === "dead") {
        const record = this.#nodes.get(t.key)!;
        events.push({
          event: "alert_cleared",
          change: true,
          level: "info",
          fields: {
            rack: record.rack,
            node: record.node,
            alert_level: record.status,
            silent_ms: Math.round(t.silentMs),
          },
        });
      }
    }
    return events;
  }

  /** Every node, sorted by rack then node, at monotonic time `now`. */
  nodes(now: number): NodeView[] {
    const out: NodeView[] = [];
    for (const [key, r] of this.#nodes) {
      out.push({
        rack: r.rack,
        node: r.node,
        state: this.#tracker.state(key),
        status: r.status,
        seq: r.lastSeq,
        bootId: r.bootId,
        gaps: r.gaps,
        missing: r.missing,
        restarts: r.restarts,
        beats: r.beats,
        metrics: r.metrics,
        silentMs: this.#tracker.silentMs(key, now) ?? 0,
      });
    }
    return out.sort((a, b) =>
      a.rack === b.rack ? a.node.localeCompare(b.node) : a.rack.localeCompare(b.rack)
    );
  }

  /** Fleet totals. */
  totals(): FleetTotals {
    let gaps = 0, missing = 0, restarts = 0;
    for (const r of this.#nodes.values()) {
      gaps += r.gaps;
      missing += r.missing;
      restarts += r.restarts;
    }
    return {
      nodes: this.#nodes.size,
      beats: this.#beats,
      gaps,
      missing,
      restarts,
      stale: this.#stale,
    };
  }

  #newRecord(hb: Heartbeat): NodeRecord {
    return {
      rack: hb.rack,
      node: hb.node,
      bootId: hb.boot_id,
      lastSeq: hb.seq,
      status: hb.status,
      gaps: 0,
      missing: 0,
      restarts: 0,
      beats: 0,
      metrics: hb.metrics,
    };
  }

  #stateEvent(
    key: string,
    from: NodeState,
    to: NodeState,
    t: { silentMs: number; missed: number },
  ): MonitorEvent {
    const record = this.#nodes.get(key)!;
    return {
      event: "node_state",
      change: true,
      level: to === "alive" ? "info" : "warn",
      fields: {
        rack: record.rack,
        node: record.node,
        from,
        to,
        silent_ms: Math.round(t.silentMs),
        missed: t.missed,
        boot_id: record.bootId,
      },
    };
  }
}
