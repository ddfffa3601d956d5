/**
 * The anomaly detector's rules, sans-IO. Every rule works on event time (`event.ts`), never
 * the detector's clock, and reads its history from a {@linkcode DetectorStore}, so a
 * restarted detector (SQLite on a volume) gives the same verdicts as one that never died,
 * and a retried request (same event id) gets the stored verdict back instead of being
 * scored twice.
 *
 * | rule          | fires when                                                              | severity  |
 * | ------------- | ----------------------------------------------------------------------- | --------- |
 * | `ioc_ip`      | a `conn` event's `dst` is an IP indicator                               | indicator |
 * | `ioc_domain`  | a `dns` event's `dst` is a domain indicator                             | indicator |
 * | `ioc_hash`    | a `file` event's `hash` is a hash indicator                             | indicator |
 * | `brute_force` | the Nth failed login from one `src` within the window (exactly the Nth) | high      |
 * | `beaconing`   | the last K connections host→dst are evenly spaced (cv < max, mean ≥ min), once a run | high      |
 *
 * @module
 */

import type { IntelSet } from "./intel.ts";
import type { Event, Finding, Verdict } from "./protocol.ts";

/** Thresholds of the behavioural rules. */
export interface DetectorRules {
  /** Failed logins from one source that make a brute force (default 5). */
  bruteForceCount: number;
  /** ... within this many ms of event time (default 60 s). */
  bruteForceWindowMs: number;
  /** Connections host→dst looked at for beaconing (default 5). */
  beaconSamples: number;
  /** Largest coefficient of variation of their intervals (default 0.1). */
  beaconMaxCv: number;
  /** Smallest mean interval, ms (default 10 s: faster is a session, not a beacon). */
  beaconMinIntervalMs: number;
}

/** The defaults the scenario is written against. */
export const DEFAULT_RULES: DetectorRules = {
  bruteForceCount: 5,
  bruteForceWindowMs: 60_000,
  beaconSamples: 5,
  beaconMaxCv: 0.1,
  beaconMinIntervalMs: 10_000,
};

/** What the rules need to remember, and the verdicts already given. */
export interface DetectorStore {
  /** The verdict stored for an event id, if it was scored before. */
  verdict(id: string): Verdict | undefined;
  /** Stored failed logins from `src` with `fromTs < ts <= toTs`. */
  failedLogins(src: string, fromTs: number, toTs: number): number;
  /** Timestamps of the latest `n` stored connections host→dst, oldest first. */
  connections(host: string, dst: string, n: number): number[];
  /** Event time at which a finding with this key (e.g. `beaconing:host|dst`) was last raised. */
  raisedAt(key: string): number | undefined;
  /** Stores the event, its verdict and the keys it raised (at the event's time), atomically. */
  record(event: Event, verdict: Verdict, raisedKeys: string[]): void;
  /** Runs `fn` in one transaction (a store without transactions just runs it). */
  transaction<T>(fn: () => T): T;
}

/**
 * Scores one event: the stored verdict for a known id, else the findings of every rule,
 * stored before they are returned.
 *
 * @example
 * ```ts
 * import { IntelSet, DEFAULT_INDICATORS } from "./intel.ts";
 * import { MemoryDetectorStore, score } from "./detector.ts";
 * const intel = new IntelSet(["ip", "domain", "hash"]);
 * DEFAULT_INDICATORS.forEach((i) => intel.add(i));
 * const v = score({ id: "e1", ts: 1, kind: "conn", host: "h1", dst: "203.0.113.66", port: 443 },
 *   intel, new MemoryDetectorStore());
 * console.log(v.findings[0].rule); // "ioc_ip"
 * ```
 */
export function score(
  event: Event,
  intel: IntelSet,
  store: DetectorStore,
  rules: DetectorRules = DEFAULT_RULES,
): Verdict {
  return store.transaction(() => {
    const known = store.verdict(event.id);
    if (known) return known;
    const findings: Finding[] = [];
    const raisedKeys: string[] = [];
    const ioc = (type: "ip" | "domain" | "hash", value: string | undefined) => {
      const hit = intel.match(type, value);
      if (hit) {
        findings.push({
          rule: `ioc_${type}`,
          severity: hit.severity,
          reason: `${type} ${hit.value}: ${hit.note}`,
        });
      }
    };
    if (event.kind === "conn") ioc("ip", event.dst);
    if (event.kind === "dns") ioc("domain", event.dst);
    if (event.kind === "file") ioc("hash", event.hash);
    if (event.kind === "login" && event.ok === false && event.src) {
      const n = 1 + store.failedLogins(event.src, event.ts - rules.bruteForceWindowMs, event.ts);
      if (n === rules.bruteForceCount) {
        findings.push({
          rule: "brute_force",
          severity: "high",
          reason: `${n} failed logins from ${event.src} within ${rules.bruteForceWindowMs} ms`,
        });
      }
    }
    if (event.kind === "conn" && event.dst) {
      const key = `beaconing:${event.host}|${event.dst}`;
      const times = [
        ...store.connections(event.host, event.dst, rules.beaconSamples - 1),
        event.ts,
      ];
      // Once per run of beacons: not again while the samples overlap the run already reported.
      const last = store.raisedAt(key);
      if (times.length === rules.beaconSamples && (last === undefined || last < times[0])) {
        const gaps = times.slice(1).map((t, i) => t - times[i]);
        const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
        const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
        if (mean >= rules.beaconMinIntervalMs && sd / mean < rules.beaconMaxCv) {
          findings.push({
            rule: "beaconing",
            severity: "high",
            reason: `${event.host} -> ${event.dst} every ${Math.round(mean / 1000)} s (cv ${
              (sd / mean).toFixed(3)
            })`,
          });
          raisedKeys.push(key);
        }
      }
    }
    const verdict: Verdict = { id: event.id, status: 200, findings };
    store.record(event, verdict, raisedKeys);
    return verdict;
  });
}

/** An in-memory {@linkcode DetectorStore} (unit tests and the reference run). */
export class MemoryDetectorStore implements DetectorStore {
  readonly #verdicts = new Map<string, Verdict>();
  readonly #events: Event[] = [];
  readonly #raised = new Map<string, number>();

  verdict(id: string): Verdict | undefined {
    return this.#verdicts.get(id);
  }

  failedLogins(src: string, fromTs: number, toTs: number): number {
    return this.#events.filter((e) =>
      e.kind === "login" && e.ok === false && e.src === src && e.ts > fromTs && e.ts <= toTs
    ).length;
  }

  connections(host: string, dst: string, n: number): number[] {
    return this.#events.filter((e) => e.kind === "conn" && e.host === host && e.dst === dst)
      .map((e) => e.ts).sort((a, b) => a - b).slice(-n);
  }

  raisedAt(key: string): number | undefined {
    return this.#raised.get(key);
  }

  record(event: Event, verdict: Verdict, raisedKeys: string[]): void {
    this.#events.push(event);
    this.#verdicts.set(event.id, verdict);
    for (const k of raisedKeys) this.#raised.set(k, event.ts);
  }

  transaction<T>(fn: () => T): T {
    return fn();
  }
}
