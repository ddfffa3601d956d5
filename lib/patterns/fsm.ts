/**
 * Table-driven finite state machines: state × event → (next state, action), with named
 * guards, printable as a Markdown table for a SUMMARY and checkable cell by cell.
 *
 * @module
 */

/** One outcome of a cell: the next state and what to do. */
export interface Transition<S extends string, A extends string> {
  /** The state after the event. */
  next: S;
  /** The action the owner performs (by name), if any. */
  action?: A;
  /** A named guard: this outcome applies only when the guard holds. */
  when?: string;
}

/**
 * A cell: one transition, or guarded alternatives tried in order (the last one should
 * have no `when`: it is the "else"). A missing cell means the event is not allowed in that
 * state.
 */
export type Cell<S extends string, A extends string> =
  | Transition<S, A>
  | readonly Transition<S, A>[];

/** The whole machine. */
export interface FsmTable<S extends string, E extends string, A extends string> {
  /** Every state, in the order the table prints them. */
  states: readonly S[];
  /** Every event, in the order the table prints them. */
  events: readonly E[];
  /** The state a new machine starts in. */
  initial: S;
  /** The cells, by state then event. */
  cells: { readonly [state in S]?: { readonly [event in E]?: Cell<S, A> } };
}

/** What {@link Fsm.fire} did. */
export type FireResult<S extends string, A extends string> =
  | { ok: true; from: S; next: S; action?: A }
  | { ok: false; from: S; reason: string };

/**
 * Looks up one cell: the first transition whose guard holds (guards by name from
 * `guards`; a missing guard function counts as false).
 *
 * @example
 * ```ts
 * import { step } from "@lib/patterns/mod.ts";
 * const table = {
 *   states: ["off", "on"] as const,
 *   events: ["toggle"] as const,
 *   initial: "off" as const,
 *   cells: { off: { toggle: { next: "on" as const } }, on: { toggle: { next: "off" as const } } },
 * };
 * step(table, "off", "toggle"); // { ok: true, from: "off", next: "on" }
 * ```
 */
export function step<S extends string, E extends string, A extends string>(
  table: FsmTable<S, E, A>,
  state: S,
  event: E,
  guards: Readonly<Record<string, () => boolean>> = {},
): FireResult<S, A> {
  const cell = table.cells[state]?.[event];
  if (!cell) return { ok: false, from: state, reason: `event ${event} not allowed in ${state}` };
  const options: readonly Transition<S, A>[] = Array.isArray(cell)
    ? cell
    : [cell as Transition<S, A>];
  for (const t of options) {
    if (t.when === undefined || guards[t.when]?.() === true) {
      return t.action === undefined
        ? { ok: true, from: state, next: t.next }
        : { ok: true, from: state, next: t.next, action: t.action };
    }
  }
  return { ok: false, from: state, reason: `no guard held for ${event} in ${state}` };
}

/**
 * Checks a table: every state and event listed, every target a known state. Throws a
 * RangeError naming the first problem.
 *
 * @example
 * ```ts
 * import { validateTable } from "@lib/patterns/mod.ts";
 * validateTable({ states: ["a"], events: ["go"], initial: "a", cells: { a: { go: { next: "a" } } } });
 * ```
 */
export function validateTable<S extends string, E extends string, A extends string>(
  table: FsmTable<S, E, A>,
): void {
  const states = new Set<string>(table.states);
  const events = new Set<string>(table.events);
  if (!states.has(table.initial)) {
    throw new RangeError(`expected the initial state to be listed, got ${table.initial}`);
  }
  for (const [state, row] of Object.entries(table.cells) as [string, Record<string, unknown>][]) {
    if (!states.has(state)) throw new RangeError(`expected a listed state, got ${state}`);
    for (const [event, cell] of Object.entries(row ?? {})) {
      if (!events.has(event)) throw new RangeError(`expected a listed event, got ${event}`);
      const list = (Array.isArray(cell) ? cell : [cell]) as Transition<S, A>[];
      list.forEach((t, i) => {
        if (!states.has(t.next)) {
          throw new RangeError(`expected a listed next state in ${state}×${event}, got ${t.next}`);
        }
        if (t.when === undefined && i < list.length - 1) {
          throw new RangeError(`expected only the last outcome of ${state}×${event} unguarded`);
        }
      });
    }
  }
}

/**
 * The table as Markdown: one row per state, one column per event; a cell reads
 * `next / action`, guarded outcomes `[guard] next / action; else ...`, and `—` for not
 * allowed.
 *
 * @example
 * ```ts
 * import { tableMarkdown } from "@lib/patterns/mod.ts";
 * console.log(tableMarkdown({
 *   states: ["off", "on"],
 *   events: ["toggle"],
 *   initial: "off",
 *   cells: { off: { toggle: { next: "on", action: "light" } }, on: { toggle: { next: "off" } } },
 * }));
 * ```
 */
export function tableMarkdown<S extends string, E extends string, A extends string>(
  table: FsmTable<S, E, A>,
): string {
  const show = (t: Transition<S, A>) =>
    `${t.when ? `[${t.when}] ` : ""}${t.next}${t.action ? ` / ${t.action}` : ""}`;
  const header = `| state \\ event | ${table.events.join(" | ")} |`;
  const rule = `| --- | ${table.events.map(() => "---").join(" | ")} |`;
  const rows = table.states.map((state) => {
    const cells = table.events.map((event) => {
      const cell = table.cells[state]?.[event];
      if (!cell) return "—";
      const list = (Array.isArray(cell) ? cell : [cell]) as Transition<S, A>[];
      return list.map((t, i) => (i > 0 && !t.when ? `else ${show(t)}` : show(t))).join("; ");
    });
    return `| ${state === table.initial ? `**${state}**` : state} | ${cells.join(" | ")} |`;
  });
  return [header, rule, ...rows].join("\n");
}

/**
 * A running machine over a table: `fire(event)` moves it and returns the action to
 * perform; a not-allowed event leaves the state as it is and says why.
 *
 * @example
 * ```ts
 * import { Fsm } from "@lib/patterns/mod.ts";
 * const door = new Fsm({
 *   states: ["closed", "open"],
 *   events: ["push", "pull"],
 *   initial: "closed",
 *   cells: { closed: { push: { next: "open", action: "creak" } }, open: { pull: { next: "closed" } } },
 * });
 * door.fire("push"); // { ok: true, from: "closed", next: "open", action: "creak" }
 * door.fire("push").ok; // false: not allowed in "open"
 * door.state; // "open"
 * ```
 */
export class Fsm<S extends string, E extends string, A extends string = string> {
  #state: S;
  readonly table: FsmTable<S, E, A>;
  #guards: Readonly<Record<string, () => boolean>>;

  constructor(table: FsmTable<S, E, A>, guards: Readonly<Record<string, () => boolean>> = {}) {
    validateTable(table);
    this.table = table;
    this.#state = table.initial;
    this.#guards = guards;
  }

  /** The current state. */
  get state(): S {
    return this.#state;
  }

  /** Applies `event`; on success the state is `next`. */
  fire(event: E): FireResult<S, A> {
    const result = step(this.table, this.#state, event, this.#guards);
    if (result.ok) this.#state = result.next;
    return result;
  }
}
