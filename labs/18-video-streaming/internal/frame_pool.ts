/**
 * A pool of frame buffers for zero-copy sends: a frame is never allocated per send, and a
 * buffer is never handed out again while libzmq may still read it.
 *
 * What lib/zmq tells us. It sends a frame of `ZERO_COPY_THRESHOLD` (16 KiB) or more with
 * `zmq_msg_init_data`: libzmq reads the caller's memory until it lets go of it (lib/zmq
 * sees that from libzmq's reference count, or from a free callback where it cannot). The one public trace is
 * `zeroCopyFramesInFlight()`, a process-wide count: it says *how many* frames libzmq still
 * holds, never *which* (a PUB socket with a fast and a slow subscriber releases frames out
 * of order). So release is tracked in two exact ways, and nothing is ever guessed:
 *
 * 1. `inFlight() === 0` (and no send of ours still queued in lib/zmq): every buffer is free.
 * 2. Each send gets a fresh *view* object of the buffer (a few dozen bytes, not a frame);
 *    the pool keeps only a `WeakRef` to it. lib/zmq's map holds the view until libzmq's free
 *    callback deletes it, so once the WeakRef is cleared libzmq has released that send. When
 *    the pool runs dry while the count says some of our sends were released
 *    (`watched > inFlight()`), it runs `collect()` (a full GC) once and looks again.
 *
 * 3. A PUB frame that no subscriber takes (every pipe full) is released inside the send
 *    call: `inFlight()` does not move across it, and `accepted(slot, true)` says so.
 * 4. `fifo: true` (credit mode: every engine gets every frame, in order, and a pipe releases
 *    its frames in order): an engine that still holds frame `s` also holds every frame sent
 *    after it, so `inFlight() < sent - s` proves frame `s` released, without a GC. An engine
 *    leaving mid-stream breaks the premise (its pipe is torn down with frames in it), so
 *    `taint()` turns this rule off until `inFlight()` next reaches 0.
 *
 * Frames under the threshold are copied by `zmq_send`: they are free once the send was
 * accepted. `unsafe: true` turns all of this off (round-robin reuse, ignoring libzmq): the
 * corruption test uses it to show that the engines' checksums catch a reused buffer.
 *
 * Slot states (see `SLOT_TABLE`): free → filling → sending → held → free.
 *
 * @module
 */

import { type FsmTable, step } from "@lib/patterns/fsm.ts";

/** Where a pool slot is in its life. */
export type SlotState = "free" | "filling" | "sending" | "held";
/** What happens to a slot. */
export type SlotEvent = "acquire" | "sent" | "accepted" | "released" | "abandon";

/** The slot life cycle as a table (printed in SUMMARY.md). */
export const SLOT_TABLE: FsmTable<SlotState, SlotEvent, string> = {
  states: ["free", "filling", "sending", "held"],
  events: ["acquire", "sent", "accepted", "released", "abandon"],
  initial: "free",
  cells: {
    free: { acquire: { next: "filling", action: "render/read the frame into it" } },
    filling: {
      sent: { next: "sending", action: "every send of this frame issued (one view each)" },
      abandon: { next: "free", action: "nothing was sent" },
    },
    sending: {
      accepted: { next: "held", action: "lib/zmq handed every view to libzmq (or copied it)" },
    },
    held: {
      released: {
        next: "free",
        action:
          "inFlight() = 0, older than inFlight() frames (fifo), or every view released (probe)",
      },
    },
  },
};

/** Tells whether libzmq let go of one send's view. */
export type ReleaseProbe = () => boolean;

/** How the pool learns about libzmq's zero-copy frames (injected for tests). */
export interface PoolHooks {
  /** Zero-copy frames libzmq holds now, process-wide (`zeroCopyFramesInFlight`). */
  inFlight(): number;
  /** Makes cleared WeakRefs visible (a full GC); returns how long it took in ms. */
  collect(): number;
  /** Starts watching one send's view; default: a WeakRef. */
  watch?(view: Uint8Array): ReleaseProbe;
}

/** Pool options. */
export interface FramePoolOptions extends PoolHooks {
  /** Buffers in the pool (>= 1). */
  slots: number;
  /** Bytes per buffer. */
  size: number;
  /** True when sends of `size` bytes are zero-copy (size >= ZERO_COPY_THRESHOLD). */
  zeroCopy: boolean;
  /** Reuse buffers round-robin without waiting for libzmq (corruption tests only). */
  unsafe?: boolean;
  /** Every send reaches every receiver in order (credit mode): enables the suffix rule. */
  fifo?: boolean;
}

/** One buffer of the pool. */
export interface PoolSlot {
  readonly index: number;
  readonly buffer: Uint8Array;
  state: SlotState;
  /** Sends issued for the current frame (views handed out). */
  issued: number;
  /** Sends issued for the current frame and not yet accepted. */
  pending: number;
  /** Release probes of the accepted sends of the current frame. */
  probes: ReleaseProbe[];
  /** Sequence number of the frame in it (frames with sends, from 0). */
  seq: number;
}

/** Counters of the pool. */
export interface PoolStats {
  slots: number;
  free: number;
  held: number;
  /** acquire() found no free buffer. */
  exhausted: number;
  /** Full GCs run to find released views, and their total time. */
  collections: number;
  collectMs: number;
  /** Buffers freed because inFlight() reached 0 / because their views were collected. */
  freedByCount: number;
  freedByProbe: number;
  /** Buffers freed by the suffix rule (fifo). */
  freedByOrder: number;
  /** Sends libzmq released inside the send call (no subscriber took the frame). */
  freedAtOnce: number;
}

/** A dry pool collects again after this many reclaims even if inFlight() did not move. */
const COLLECT_RETRY = 20;

const weakRefProbe = (view: Uint8Array): ReleaseProbe => {
  const ref = new WeakRef(view);
  return () => ref.deref() === undefined;
};

/**
 * The pool. `acquire()` → fill `slot.buffer` → `view(slot)` per send → `sent(slot)` →
 * `accepted(slot)` once per view when lib/zmq took it.
 *
 * @example
 * ```ts
 * import { FramePool } from "./frame_pool.ts";
 * let libzmqHolds = 0;
 * const pool = new FramePool({
 *   slots: 2, size: 16, zeroCopy: true, inFlight: () => libzmqHolds, collect: () => 0,
 * });
 * const slot = pool.acquire()!;
 * const view = pool.view(slot); // pass this to send(), never slot.buffer
 * libzmqHolds++;
 * pool.sent(slot);
 * pool.accepted(slot);
 * libzmqHolds = 0; // libzmq's free callback ran
 * console.log(pool.acquire() !== null, view.byteLength); // true 16
 * ```
 */
export class FramePool {
  readonly slots: PoolSlot[];
  readonly #hooks: PoolHooks;
  readonly #zeroCopy: boolean;
  readonly #unsafe: boolean;
  readonly #watch: (view: Uint8Array) => ReleaseProbe;
  #next = 0;
  /** Accepted zero-copy views not yet known released (all held slots' probes). */
  #watched = 0;
  /** Sends issued and not yet accepted, over all slots. */
  #pendingSends = 0;
  /** inFlight() at the last collect: another one only helps after a release since. */
  #lastCollectInFlight = -1;
  /** Reclaims without a collect since the last one (a retry every COLLECT_RETRY). */
  #skipped = 0;
  #stats = {
    exhausted: 0,
    collections: 0,
    collectMs: 0,
    freedByCount: 0,
    freedByProbe: 0,
    freedByOrder: 0,
    freedAtOnce: 0,
  };
  readonly #fifo: boolean;
  #tainted = false;
  /** Frames sent with at least one view (the next frame's seq). */
  #seq = 0;

  constructor(options: FramePoolOptions) {
    if (!Number.isInteger(options.slots) || options.slots < 1) {
      throw new RangeError(`slots: expected an integer >= 1, got ${options.slots}`);
    }
    this.#hooks = options;
    this.#zeroCopy = options.zeroCopy;
    this.#unsafe = options.unsafe ?? false;
    this.#fifo = options.fifo ?? false;
    this.#watch = options.watch ?? weakRefProbe;
    this.slots = Array.from({ length: options.slots }, (_, index) => ({
      index,
      buffer: new Uint8Array(options.size),
      state: "free" as SlotState,
      issued: 0,
      pending: 0,
      probes: [],
      seq: -1,
    }));
  }

  /** A free buffer to fill (state `filling`), or null when libzmq still holds them all. */
  acquire(): PoolSlot | null {
    if (this.#unsafe) {
      const slot = this.slots[this.#next];
      this.#next = (this.#next + 1) % this.slots.length;
      this.#watched -= slot.probes.length;
      slot.probes = [];
      slot.issued = 0;
      slot.state = "filling";
      return slot;
    }
    let slot = this.#free();
    if (slot) return this.#take(slot);
    this.reclaim();
    slot = this.#free();
    if (slot) return this.#take(slot);
    this.#stats.exhausted++;
    return null;
  }

  /**
   * Frees held buffers that libzmq released: all of them when `inFlight()` is 0, else
   * those whose views were collected (running `collect()` when the count says some of ours
   * were released since the last one). Returns how many were freed.
   */
  reclaim(): number {
    const held = this.slots.filter((s) => s.state === "held");
    if (held.length === 0) return 0;
    const inFlight = this.#hooks.inFlight();
    if (inFlight === 0 && this.#pendingSends === 0) {
      for (const slot of held) this.#release(slot);
      this.#stats.freedByCount += held.length;
      this.#tainted = false;
      return held.length;
    }
    if (this.#fifo && !this.#tainted && this.#pendingSends === 0) {
      let freed = 0;
      for (const slot of held) {
        if (inFlight < this.#seq - slot.seq) {
          this.#release(slot);
          freed++;
        }
      }
      this.#stats.freedByOrder += freed;
      if (freed > 0) return freed;
    }
    if (this.#watched <= inFlight) return 0; // none of ours released yet
    if (inFlight !== this.#lastCollectInFlight || ++this.#skipped >= COLLECT_RETRY) {
      this.#skipped = 0;
      this.#stats.collectMs += this.#hooks.collect();
      this.#stats.collections++;
      this.#lastCollectInFlight = inFlight;
    }
    let freed = 0;
    for (const slot of held) {
      const before = slot.probes.length;
      slot.probes = slot.probes.filter((released) => !released());
      this.#watched -= before - slot.probes.length;
      if (slot.probes.length === 0) {
        this.#release(slot);
        freed++;
      }
    }
    this.#stats.freedByProbe += freed;
    return freed;
  }

  /** A fresh view of the slot's buffer for one send (watched until libzmq releases it). */
  view(slot: PoolSlot, size = slot.buffer.byteLength): Uint8Array {
    const view = new Uint8Array(slot.buffer.buffer, 0, size);
    slot.issued++;
    slot.pending++;
    this.#pendingSends++;
    if (this.#zeroCopy && !this.#unsafe) slot.probes.push(this.#watch(view));
    return view;
  }

  /** Every send of the slot's frame was issued (filling → sending, or free if none). */
  sent(slot: PoolSlot): void {
    this.#fire(slot, slot.issued === 0 ? "abandon" : "sent");
    if (slot.issued > 0) slot.seq = this.#seq++;
    if (slot.state === "sending" && slot.pending === 0) this.#accept(slot);
  }

  /**
   * One send of the slot (issued with `view`) was accepted or failed. `releasedAtOnce`:
   * the caller saw `inFlight()` unchanged across a synchronous send of the latest view, i.e.
   * libzmq released it inside the send (a PUB frame no subscriber took: a release from
   * libzmq's I/O thread cannot run in the middle of a synchronous call on this thread).
   */
  accepted(slot: PoolSlot, releasedAtOnce = false): void {
    if (releasedAtOnce && this.#zeroCopy && !this.#unsafe && slot.probes.length > 0) {
      slot.probes.pop();
      this.#stats.freedAtOnce++;
    }
    slot.pending--;
    this.#pendingSends--;
    if (slot.pending === 0 && slot.state === "sending") this.#accept(slot);
  }

  /** A receiver left mid-stream: the fifo rule is off until inFlight() reaches 0. */
  taint(): void {
    this.#tainted = true;
  }

  /** Counters. */
  stats(): PoolStats {
    let free = 0, held = 0;
    for (const slot of this.slots) {
      if (slot.state === "free") free++;
      else if (slot.state === "held") held++;
    }
    return { slots: this.slots.length, free, held, ...this.#stats };
  }

  #accept(slot: PoolSlot): void {
    this.#fire(slot, "accepted");
    if (this.#unsafe) return;
    if (!this.#zeroCopy || slot.probes.length === 0) {
      // Copied by zmq_send, or every view released inside its send: libzmq holds nothing.
      this.#release(slot);
      return;
    }
    this.#watched += slot.probes.length;
  }

  #free(): PoolSlot | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[(this.#next + i) % this.slots.length];
      if (slot.state === "free") return slot;
    }
    return undefined;
  }

  #take(slot: PoolSlot): PoolSlot {
    this.#next = (slot.index + 1) % this.slots.length;
    slot.issued = 0;
    this.#fire(slot, "acquire");
    return slot;
  }

  #release(slot: PoolSlot): void {
    this.#watched -= slot.probes.length;
    slot.probes = [];
    this.#fire(slot, "released");
  }

  #fire(slot: PoolSlot, event: SlotEvent): void {
    if (this.#unsafe) return;
    const result = step(SLOT_TABLE, slot.state, event);
    if (!result.ok) {
      throw new Error(`pool slot ${slot.index}: ${event} not allowed in ${slot.state}`);
    }
    slot.state = result.next;
  }
}
