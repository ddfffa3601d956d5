/**
 * A circuit breaker per peer: stops calling a peer that keeps failing, and lets one trial
 * through after a cooldown to find out whether it is back.
 *
 * - `closed`: calls go through; `failureThreshold` consecutive failures open it.
 * - `open`: calls are refused until the cooldown ends (`tick`/`allow` then move it to
 *   `half_open`); the cooldown doubles per failed trial up to `maxCooldownMs`.
 * - `half_open`: exactly one trial call goes through; its success closes the breaker (and
 *   resets the cooldown), its failure opens it again.
 *
 * The rules are the table {@link CIRCUIT_BREAKER_TABLE} (print it with `tableMarkdown`).
 * Time comes from an injected `Clock`; the breaker never sets a timer itself.
 *
 * @module
 */

import { Backoff } from "../async/backoff.ts";
import type { Clock } from "../async/clock.ts";
import { type FsmTable, step } from "./fsm.ts";

/** Breaker states. */
export type BreakerState = "closed" | "open" | "half_open";

/** What moves a breaker. */
export type BreakerEvent = "success" | "failure" | "cooldown_over" | "trial";

/** What the breaker does on a transition (by name). */
export type BreakerAction = "reset" | "count" | "trip" | "start_trial";

/**
 * The breaker's state machine. Guard `tripped`: this failure reaches the threshold. A
 * missing cell means the event is ignored in that state (e.g. a late success while open).
 */
export const CIRCUIT_BREAKER_TABLE: FsmTable<
  BreakerState,
  BreakerEvent,
  BreakerAction
> = {
  states: ["closed", "open", "half_open"],
  events: ["success", "failure", "cooldown_over", "trial"],
  initial: "closed",
  cells: {
    closed: {
      success: { next: "closed", action: "reset" },
      failure: [{ next: "open", action: "trip", when: "tripped" }, {
        next: "closed",
        action: "count",
      }],
      trial: { next: "closed" },
    },
    open: {
      failure: { next: "open" },
      cooldown_over: { next: "half_open" },
    },
    half_open: {
      success: { next: "closed", action: "reset" },
      failure: { next: "open", action: "trip" },
      trial: { next: "half_open", action: "start_trial" },
    },
  },
};

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Time source (`systemClock` in a role, `ManualClock` in tests). */
  clock: Clock;
  /** Consecutive failures that open a closed breaker (default 3). */
  failureThreshold?: number;
  /** First cooldown in ms (default 5000). */
  cooldownMs?: number;
  /** Longest cooldown in ms; it doubles per failed trial (default 8 × cooldownMs). */
  maxCooldownMs?: number;
  /** Called on every state change (log it: the breaker is visible in the logs). */
  onChange?: (change: BreakerChange) => void;
}

/** A state change. */
export interface BreakerChange {
  from: BreakerState;
  to: BreakerState;
  /** Consecutive failures when it changed. */
  failures: number;
  /** How long it stays open (only when `to` is `open`). */
  cooldownMs?: number;
}

/** Counters of a {@link CircuitBreaker}. */
export interface CircuitBreakerStats {
  state: BreakerState;
  failures: number;
  opened: number;
  trials: number;
  refused: number;
}

/**
 * One breaker (keep one per peer).
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { CircuitBreaker } from "@lib/patterns/mod.ts";
 *
 * const clock = new ManualClock();
 * const breaker = new CircuitBreaker({ clock, failureThreshold: 2, cooldownMs: 1000 });
 * breaker.failure();
 * breaker.failure(); // opens
 * breaker.allow(); // false: open
 * clock.set(1000);
 * breaker.allow(); // true: the one half-open trial
 * breaker.allow(); // false: the trial is under way
 * breaker.success(); // closed again
 * console.log(breaker.state); // "closed"
 * ```
 */
export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly #clock: Clock;
  readonly #cooldown: Backoff;
  readonly #onChange?: (change: BreakerChange) => void;
  #state: BreakerState = CIRCUIT_BREAKER_TABLE.initial;
  #failures = 0;
  #openUntil = 0;
  #trialUnderWay = false;
  #opened = 0;
  #trials = 0;
  #refused = 0;

  constructor(options: CircuitBreakerOptions) {
    const threshold = options.failureThreshold ?? 3;
    if (!(Number.isInteger(threshold) && threshold >= 1)) {
      throw new RangeError(
        `failureThreshold: expected an integer >= 1, got ${threshold}`,
      );
    }
    const cooldownMs = options.cooldownMs ?? 5000;
    this.failureThreshold = threshold;
    this.#clock = options.clock;
    this.#cooldown = new Backoff({
      initialMs: cooldownMs,
      maxMs: options.maxCooldownMs ?? cooldownMs * 8,
      jitter: "none",
    });
    this.#onChange = options.onChange;
  }

  /** The current state (as of the last call; `tick` moves an expired `open` on). */
  get state(): BreakerState {
    return this.#state;
  }

  /** When an open breaker's cooldown ends (clock ms), or null when not open. */
  get openUntil(): number | null {
    return this.#state === "open" ? this.#openUntil : null;
  }

  /** Moves an open breaker whose cooldown ended to `half_open`. */
  tick(now: number = this.#clock.now()): void {
    if (this.#state === "open" && now >= this.#openUntil) {
      this.#fire("cooldown_over");
    }
  }

  /**
   * Whether a call may go now: always when closed; once (the trial) when half-open; never
   * while open (counted as refused).
   */
  allow(now: number = this.#clock.now()): boolean {
    this.tick(now);
    if (this.#state === "closed") return true;
    if (this.#state === "half_open" && !this.#trialUnderWay) {
      this.#fire("trial");
      return true;
    }
    this.#refused++;
    return false;
  }

  /** Whether {@link allow} would say yes now (without taking the trial). */
  wouldAllow(now: number = this.#clock.now()): boolean {
    if (this.#state === "closed") return true;
    if (this.#state === "half_open") return !this.#trialUnderWay;
    return now >= this.#openUntil;
  }

  /** The call worked. */
  success(): void {
    this.#fire("success");
  }

  /** The call failed. */
  failure(): void {
    this.#fire("failure");
  }

  /** Counters and the state. */
  stats(): CircuitBreakerStats {
    return {
      state: this.#state,
      failures: this.#failures,
      opened: this.#opened,
      trials: this.#trials,
      refused: this.#refused,
    };
  }

  #fire(event: BreakerEvent): void {
    const failures = event === "failure" ? this.#failures + 1 : this.#failures;
    const result = step(CIRCUIT_BREAKER_TABLE, this.#state, event, {
      tripped: () => failures >= this.failureThreshold,
    });
    if (!result.ok) return; // ignored in this state
    const from = this.#state;
    let cooldownMs: number | undefined;
    switch (result.action) {
      case "reset":
        this.#failures = 0;
        this.#cooldown.reset();
        this.#trialUnderWay = false;
        break;
      case "count":
        this.#failures = failures;
        break;
      case "trip":
        this.#failures = failures;
        cooldownMs = this.#cooldown.next();
        this.#openUntil = this.#clock.now() + cooldownMs;
        this.#trialUnderWay = false;
        this.#opened++;
        break;
      case "start_trial":
        this.#trialUnderWay = true;
        this.#trials++;
        break;
    }
    if (event === "failure" && result.action === undefined) {
      this.#failures = failures;
    }
    this.#state = result.next;
    if (from !== result.next) {
      this.#onChange?.({
        from,
        to: result.next,
        failures: this.#failures,
        ...(cooldownMs === undefined ? {} : { cooldownMs }),
      });
    }
  }
}
