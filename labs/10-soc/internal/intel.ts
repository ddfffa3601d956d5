/**
 * Threat intel: the feed's indicator list and the consumer's copy of it. The feed publishes
 * every indicator once per pass, then a `meta` marker with the pass's counts per type; a
 * consumer's copy is complete once it holds at least that many indicators of each type it
 * subscribed to (late joiners and restarted consumers catch up within one pass).
 *
 * @module
 */

import type { FeedMeta, Indicator, IndicatorType } from "./protocol.ts";

/**
 * The default feed (documentation ranges only: RFC 5737 addresses, `.example` names). The
 * scenario's attacks hit some of these; the others are decoys that must never fire.
 */
export const DEFAULT_INDICATORS: readonly Indicator[] = [
  { type: "ip", value: "203.0.113.66", severity: "critical", note: "known C2 server" },
  { type: "ip", value: "198.18.0.5", severity: "medium", note: "scanner (decoy)" },
  { type: "ip", value: "203.0.113.200", severity: "high", note: "exfil drop (decoy)" },
  {
    type: "domain",
    value: "update-check.evil.example",
    severity: "high",
    note: "malware C2 domain",
  },
  {
    type: "domain",
    value: "login-portal.phish.example",
    severity: "medium",
    note: "phishing (decoy)",
  },
  {
    type: "hash",
    value: "5d41402abc4b2a76b9719d911017c592",
    severity: "critical",
    note: "ransomware dropper (MD5)",
  },
  {
    type: "hash",
    value: "7215ee9c7d9dc229d2921a40e899ec5f",
    severity: "high",
    note: "credential stealer (decoy)",
  },
];

/**
 * Counts per type of a list of indicators (what a pass's `meta` carries).
 *
 * @example
 * ```ts
 * import { countByType, DEFAULT_INDICATORS } from "./intel.ts";
 * console.log(countByType(DEFAULT_INDICATORS).ip); // 3
 * ```
 */
export function countByType(indicators: readonly Indicator[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const i of indicators) counts[i.type] = (counts[i.type] ?? 0) + 1;
  return counts;
}

/** A consumer's copy of the feed, for the types it subscribed to. */
export class IntelSet {
  readonly #types: ReadonlySet<IndicatorType>;
  readonly #byType = new Map<IndicatorType, Map<string, Indicator>>();
  readonly #maxPerType: number;
  #complete = false;
  #evicted = 0;

  /**
   * @param types the types subscribed to
   * @param maxPerType bound per type (the oldest indicator is evicted past it)
   */
  constructor(types: readonly IndicatorType[], maxPerType = 100_000) {
    this.#types = new Set(types);
    this.#maxPerType = maxPerType;
    for (const t of types) this.#byType.set(t, new Map());
  }

  /** Takes one indicator (one of another type is ignored). */
  add(indicator: Indicator): void {
    const map = this.#byType.get(indicator.type);
    if (!map) return;
    map.delete(indicator.value);
    map.set(indicator.value, indicator);
    if (map.size > this.#maxPerType) {
      map.delete(map.keys().next().value!);
      this.#evicted++;
    }
  }

  /** Takes a pass marker; returns true when this made the copy complete. */
  onMeta(meta: FeedMeta): boolean {
    const was = this.#complete;
    this.#complete = [...this.#types].every((t) =>
      (this.#byType.get(t)?.size ?? 0) >= (meta.counts[t] ?? 0)
    );
    return this.#complete && !was;
  }

  /** True once a pass marker found every subscribed type complete. */
  get complete(): boolean {
    return this.#complete;
  }

  /** The indicator for a value of a type, if known. */
  match(type: IndicatorType, value: string | undefined): Indicator | undefined {
    return value === undefined ? undefined : this.#byType.get(type)?.get(value.toLowerCase());
  }

  /** Sizes per type, for stats and the live view. */
  sizes(): Record<string, number> {
    return Object.fromEntries([...this.#byType].map(([t, m]) => [t, m.size]));
  }

  /** Indicators dropped by the bound. */
  get evicted(): number {
    return this.#evicted;
  }
}
