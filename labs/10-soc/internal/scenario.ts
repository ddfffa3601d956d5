/**
 * The SOC scenario: deterministic traffic (seeded) with six embedded attacks and two near
 * misses, so the end-to-end result is checkable: exactly {@linkcode EXPECTED_ALERTS} must
 * reach the alert store, nothing else.
 *
 * | attack            | events                                                       | alert                     |
 * | ----------------- | ------------------------------------------------------------ | ------------------------- |
 * | A1 brute force    | 8 failed logins from 198.51.100.23 within 40 s               | `brute_force` on the 5th  |
 * | A2 beaconing      | ws-42 → 192.0.2.77:443 every 30 s, 6 times                    | `beaconing` on the 5th    |
 * | A3 C2 connection  | ws-07 → 203.0.113.66:8443                                    | `ioc_ip` (critical)       |
 * | A4 malware domain | ws-09 resolves update-check.evil.example                      | `ioc_domain` (high)       |
 * | A5 dropper        | ws-12 writes a file with hash 5d41402a…                      | `ioc_hash` (critical)     |
 * | A6 phishing link  | ws-15 resolves login-portal.phish.example                     | `ioc_domain` (medium)     |
 * | N1 near miss      | 4 failed logins from 198.51.100.99 (one short)               | none                      |
 * | N2 near miss      | ws-33 → 192.0.2.88 at jittery intervals (cv ≫ 0.1)           | none                      |
 *
 * @module
 */

import { type Random, seededRandom } from "@lib/random/mod.ts";
import type { Event, Rule } from "./protocol.ts";

/** Event time of the scenario's first event (2023-11-14T22:13:20Z). */
export const SCENARIO_START_MS = 1_700_000_000_000;

/** An alert the scenario must produce: its dedup id and rule. */
export interface ExpectedAlert {
  alert_id: string;
  rule: Rule;
}

/** Exactly the alerts the scenario produces (ids are `<event id>:<rule>`). */
export const EXPECTED_ALERTS: readonly ExpectedAlert[] = [
  { alert_id: "a1-login-5:brute_force", rule: "brute_force" },
  { alert_id: "a2-beacon-5:beaconing", rule: "beaconing" },
  { alert_id: "a3-c2:ioc_ip", rule: "ioc_ip" },
  { alert_id: "a4-dns:ioc_domain", rule: "ioc_domain" },
  { alert_id: "a5-file:ioc_hash", rule: "ioc_hash" },
  { alert_id: "a6-phish:ioc_domain", rule: "ioc_domain" },
];

/** Options of {@linkcode buildScenario}. */
export interface ScenarioOptions {
  /** Seed of the background traffic (default 10). */
  seed?: number;
  /** Background events (default 300). */
  background?: number;
  /** Prefix for every event id (a looping demo gives each round its own). */
  idPrefix?: string;
  /** Added to every timestamp (a looping demo moves each round later). */
  offsetMs?: number;
}

const BENIGN_DOMAINS = ["intranet.corp.example", "mail.corp.example", "cdn.vendor.example"];
const BENIGN_IPS = ["192.0.2.10", "192.0.2.11", "198.51.100.5", "198.51.100.6"];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/**
 * The scenario's events in event-time order.
 *
 * @example
 * ```ts
 * import { buildScenario } from "./scenario.ts";
 * const events = buildScenario();
 * console.log(events.length > 300, events[0].ts <= events[1].ts); // true true
 * ```
 */
export function buildScenario(options: ScenarioOptions = {}): Event[] {
  const random = seededRandom(options.seed ?? 10);
  const start = SCENARIO_START_MS;
  const events: Event[] = [];
  // Background: logins (a rare typo), connections, lookups, files over ~15 minutes.
  for (let i = 0; i < (options.background ?? 300); i++) {
    const ts = start + Math.floor(random() * 900_000);
    const host = `ws-${String(10 + Math.floor(random() * 40)).padStart(2, "0")}`;
    const id = `bg-${i}`;
    const r = random();
    if (r < 0.25) {
      events.push({
        id,
        ts,
        kind: "login",
        host,
        src: `10.0.0.${1 + Math.floor(random() * 200)}`,
        user: pick(random, ["alice", "bob", "carol", "dave"]),
        ok: random() > 0.05,
      });
    } else if (r < 0.6) {
      events.push({ id, ts, kind: "conn", host, dst: pick(random, BENIGN_IPS), port: 443 });
    } else if (r < 0.85) {
      events.push({ id, ts, kind: "dns", host, dst: pick(random, BENIGN_DOMAINS) });
    } else {
      const hash = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join(
        "",
      );
      events.push({ id, ts, kind: "file", host, hash });
    }
  }
  // A1: 8 failed logins from one source within 40 s.
  for (let i = 1; i <= 8; i++) {
    events.push({
      id: `a1-login-${i}`,
      ts: start + 100_000 + i * 5_000,
      kind: "login",
      host: "vpn-gw",
      src: "198.51.100.23",
      user: "admin",
      ok: false,
    });
  }
  // A2: a beacon every 30 s.
  for (let i = 1; i <= 6; i++) {
    events.push({
      id: `a2-beacon-${i}`,
      ts: start + 200_000 + i * 30_000,
      kind: "conn",
      host: "ws-42",
      dst: "192.0.2.77",
      port: 443,
    });
  }
  events.push({
    id: "a3-c2",
    ts: start + 400_000,
    kind: "conn",
    host: "ws-07",
    dst: "203.0.113.66",
    port: 8443,
  });
  events.push({
    id: "a4-dns",
    ts: start + 450_000,
    kind: "dns",
    host: "ws-09",
    dst: "update-check.evil.example",
  });
  events.push({
    id: "a5-file",
    ts: start + 500_000,
    kind: "file",
    host: "ws-12",
    hash: "5d41402abc4b2a76b9719d911017c592",
  });
  events.push({
    id: "a6-phish",
    ts: start + 550_000,
    kind: "dns",
    host: "ws-15",
    dst: "login-portal.phish.example",
  });
  // N1: one failed login short of a brute force.
  for (let i = 1; i <= 4; i++) {
    events.push({
      id: `n1-login-${i}`,
      ts: start + 600_000 + i * 3_000,
      kind: "login",
      host: "vpn-gw",
      src: "198.51.100.99",
      user: "root",
      ok: false,
    });
  }
  // N2: regular-ish but jittery connections (gaps 12, 47, 20, 61, 15 s).
  let t = start + 700_000;
  [12, 47, 20, 61, 15].forEach((gap, i) => {
    t += gap * 1000;
    events.push({
      id: `n2-conn-${i + 1}`,
      ts: t,
      kind: "conn",
      host: "ws-33",
      dst: "192.0.2.88",
      port: 80,
    });
  });
  const prefix = options.idPrefix ?? "";
  const offset = options.offsetMs ?? 0;
  return events
    .sort((a, b) => a.ts - b.ts || a.id.localeCompare(b.id))
    .map((e) => ({ ...e, id: prefix + e.id, ts: e.ts + offset }));
}
