/**
 * The alert router's decisions, sans-IO: drop an alert id seen before (bounded memory of
 * recent ids), route the rest by severity to the urgent or the routine channel.
 *
 * @module
 */

import { RecentIds } from "@lib/patterns/mod.ts";
import { type Alert, type Severity, severityRank } from "./protocol.ts";

/** Where an alert goes. */
export type AlertRoute = "urgent" | "routine" | "duplicate";

/** Dedup and severity routing. */
export class AlertRouter {
  readonly #seen: RecentIds<string>;
  readonly #urgentFrom: number;
  readonly counts = { received: 0, duplicate: 0, urgent: 0, routine: 0 };

  /**
   * @param urgentFrom lowest severity that is urgent
   * @param memory alert ids remembered for dedup
   *
   * @example
   * ```ts
   * import { AlertRouter } from "./alert_routing.ts";
   * const r = new AlertRouter("high", 1000);
   * const a = { alert_id: "e1:ioc_ip", event_id: "e1", ts: 0, host: "h", rule: "ioc_ip" as const,
   *   severity: "critical" as const, reason: "" };
   * console.log(r.route(a), r.route(a)); // "urgent" "duplicate"
   * ```
   */
  constructor(urgentFrom: Severity, memory: number) {
    this.#urgentFrom = severityRank(urgentFrom);
    this.#seen = new RecentIds({ maxSize: memory });
  }

  /** Decides where one alert goes (and remembers its id). */
  route(alert: Alert): AlertRoute {
    this.counts.received++;
    if (this.#seen.has(alert.alert_id)) {
      this.counts.duplicate++;
      return "duplicate";
    }
    this.#seen.add(alert.alert_id);
    const route = severityRank(alert.severity) >= this.#urgentFrom ? "urgent" : "routine";
    this.counts[route]++;
    return route;
  }
}
