/**
 * The reusable cores of the Guide's patterns, sans-IO: each takes frames and a clock and
 * answers through a `send` function (see {@link PatternPort} and {@link Pattern}); the
 * socket loop stays in the role.
 *
 * @example
 * ```ts
 * import { Fsm, InFlight } from "@lib/patterns/mod.ts";
 * const work = new InFlight<number>();
 * work.add(1);
 * new Fsm({ states: ["a"], events: ["e"], initial: "a", cells: {} }).state; // "a"
 * ```
 *
 * @module
 */

export { type Frames, type Pattern, type PatternPort, trySend } from "./port.ts";
export {
  type Cell,
  type FireResult,
  Fsm,
  type FsmTable,
  step,
  tableMarkdown,
  type Transition,
  validateTable,
} from "./fsm.ts";
export { InFlight } from "./in_flight.ts";
