/**
 * The scanner's trust decisions, sans-IO: which key, if any, a discovered device may be
 * reached with, like SSH's `known_hosts`.
 *
 * - **trusted**: a certificate for the device's UUID is pinned in the trust directory
 *   (out of band). The pinned key is the only one used.
 * - **tofu**: no pinned key; with trust-on-first-use on, the first key the device
 *   announced was recorded (and is marked `tofu` in the known-devices file).
 * - **untrusted**: no pinned key and nothing learned (TOFU off, or no key announced yet):
 *   no channel is opened.
 * - **key_changed**: the key announced for a UUID differs from the pinned or recorded one.
 *   Refused loudly and for good (sticky until the operator edits the files and restarts),
 *   never silently re-learned: a changed key is exactly what an impostor looks like.
 *
 * @module
 */

import { type FsmTable, step } from "@lib/patterns/fsm.ts";
import { RecentMap } from "@lib/patterns/recent_ids.ts";
import { fingerprint } from "@lib/zmq/zcert.ts";

/** A device's trust state. */
export type TrustState = "trusted" | "tofu" | "untrusted" | "key_changed";

/** What {@link TrustBook.assess} found out about a device's key. */
export type TrustEvent =
  | "key_pinned"
  | "key_recorded"
  | "key_announced_new"
  | "key_mismatch"
  | "no_key";

/** What the book does on a transition. */
export type TrustAction = "learn" | "alarm";

const ANY: Record<TrustEvent, { next: TrustState; action?: TrustAction; when?: string }[]> = {
  key_pinned: [{ next: "trusted" }],
  key_recorded: [{ next: "tofu" }],
  key_announced_new: [{ next: "tofu", action: "learn", when: "tofu_on" }, { next: "untrusted" }],
  key_mismatch: [{ next: "key_changed", action: "alarm" }],
  no_key: [{ next: "untrusted" }],
};

/**
 * The trust state machine of one device, event by event (`tofu_on`: `--tofu` given).
 * `key_changed` is a sink: only the operator (editing the trust directory or the
 * known-devices file, then restarting) gets a device out of it.
 */
export const TRUST_TABLE: FsmTable<TrustState, TrustEvent, TrustAction> = {
  states: ["untrusted", "trusted", "tofu", "key_changed"],
  events: ["key_pinned", "key_recorded", "key_announced_new", "key_mismatch", "no_key"],
  initial: "untrusted",
  cells: {
    untrusted: ANY,
    trusted: ANY,
    tofu: ANY,
    key_changed: {
      key_pinned: { next: "key_changed" },
      key_recorded: { next: "key_changed" },
      key_announced_new: { next: "key_changed" },
      key_mismatch: { next: "key_changed" },
      no_key: { next: "key_changed" },
    },
  },
};

/** A key learned on first use. */
export interface KnownKey {
  publicKey: string;
  /** ISO time it was first recorded. */
  firstSeen: string;
}

/** The decision for one device. */
export interface TrustDecision {
  state: TrustState;
  /** The key to connect with (trusted or tofu only). */
  key?: string;
  /** True when this call recorded a new TOFU key (persist it). */
  learned?: boolean;
  /** For key_changed: fingerprints of the expected and the announced key. */
  expected?: string;
  announced?: string;
}

/** Options of {@link TrustBook}. */
export interface TrustBookOptions {
  /** Trust on first use. */
  tofu: boolean;
  /** Keys recorded earlier (UUID hex upper-case → key). */
  known?: Map<string, KnownKey>;
  /** Most TOFU records kept (default 10 000); beyond it no new key is learned. */
  maxKnown?: number;
  /** ISO "now" for new records (injected for tests). */
  now?: () => string;
}

/**
 * Pinned keys, TOFU records and the sticky set of UUIDs whose key changed.
 *
 * @example
 * ```ts
 * import { TrustBook } from "./trust.ts";
 * import { curveKeyPair } from "@lib/zmq/mod.ts";
 * const book = new TrustBook({ tofu: true });
 * const key = curveKeyPair().publicKey;
 * console.log(book.assess("AB".repeat(16), key).state); // "tofu"
 * console.log(book.assess("AB".repeat(16), curveKeyPair().publicKey).state); // "key_changed"
 * ```
 */
export class TrustBook {
  readonly tofu: boolean;
  #pinned = new Map<string, string>();
  readonly #known: Map<string, KnownKey>;
  readonly #changed = new Map<string, { expected: string; announced: string }>();
  readonly #states = new RecentMap<string, TrustState>({ maxSize: 10_000 });
  readonly #maxKnown: number;
  readonly #now: () => string;

  constructor(options: TrustBookOptions) {
    this.tofu = options.tofu;
    this.#known = new Map(options.known ?? []);
    this.#maxKnown = options.maxKnown ?? 10_000;
    this.#now = options.now ?? (() => new Date().toISOString());
  }

  /** Replaces the pinned keys (UUID hex → key), e.g. after the trust dir changed. */
  setPinned(pinned: Map<string, string>): void {
    this.#pinned = new Map([...pinned].map(([uuid, key]) => [uuid.toUpperCase(), key]));
  }

  /** Pinned keys held. */
  get pinnedCount(): number {
    return this.#pinned.size;
  }

  /** The TOFU records (a copy), to persist. */
  known(): Map<string, KnownKey> {
    return new Map(this.#known);
  }

  /**
   * Decides for `uuid`, given the key it announced (if any). A first announced key is
   * learned in TOFU mode; a different one for a known UUID marks it key_changed for good.
   */
  assess(uuid: string, announcedKey?: string): TrustDecision {
    const id = uuid.toUpperCase();
    const pinned = this.#pinned.get(id);
    const expectedKey = pinned ?? this.#known.get(id)?.publicKey;
    const event: TrustEvent = expectedKey !== undefined
      ? announcedKey !== undefined && announcedKey !== expectedKey
        ? "key_mismatch"
        : pinned !== undefined
        ? "key_pinned"
        : "key_recorded"
      : announcedKey !== undefined
      ? "key_announced_new"
      : "no_key";
    const from: TrustState = this.#changed.has(id)
      ? "key_changed"
      : this.#states.get(id) ?? "untrusted";
    const result = step(TRUST_TABLE, from, event, {
      tofu_on: () => this.tofu && this.#known.size < this.#maxKnown,
    });
    if (!result.ok) return { state: from }; // every cell is filled: unreachable
    let learned = false;
    if (result.action === "learn") {
      this.#known.set(id, { publicKey: announcedKey!, firstSeen: this.#now() });
      learned = true;
    } else if (result.action === "alarm") {
      this.#changed.set(id, {
        expected: fingerprint(expectedKey!),
        announced: fingerprint(announcedKey!),
      });
    }
    this.#states.delete(id);
    this.#states.set(id, result.next);
    switch (result.next) {
      case "key_changed":
        return { state: "key_changed", ...this.#changed.get(id)! };
      case "trusted":
        return { state: "trusted", key: expectedKey! };
      case "tofu":
        return learned
          ? { state: "tofu", key: announcedKey!, learned: true }
          : { state: "tofu", key: expectedKey! };
      default:
        return { state: "untrusted" };
    }
  }
}

const LINE = /^([0-9A-Fa-f]{32}) (\S{40}) tofu (\S+)$/;

/**
 * Parses a known-devices file: one `UUID Z85KEY tofu FIRST_SEEN_ISO` per line (blank
 * lines ignored). A bad line throws naming its number (never its content).
 *
 * @example
 * ```ts
 * import { formatKnownDevices, parseKnownDevices } from "./trust.ts";
 * const text = formatKnownDevices(new Map([["AB".repeat(16), {
 *   publicKey: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", firstSeen: "2026-12-02T13:00:00Z" }]]));
 * console.log(parseKnownDevices(text).size); // 1
 * ```
 */
export function parseKnownDevices(text: string): Map<string, KnownKey> {
  const out = new Map<string, KnownKey>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`known devices line ${i + 1}: expected "UUID KEY tofu TIME"`);
    out.set(m[1].toUpperCase(), { publicKey: m[2], firstSeen: m[3] });
  }
  return out;
}

/** Formats TOFU records for the known-devices file (sorted by UUID). */
export function formatKnownDevices(known: Map<string, KnownKey>): string {
  return [...known].sort(([a], [b]) => a < b ? -1 : 1)
    .map(([uuid, k]) => `${uuid} ${k.publicKey} tofu ${k.firstSeen}\n`).join("");
}
