/**
 * Zero-copy sends released without a callback. A frame handed to libzmq with
 * `zmq_msg_init_data` is freed by whichever thread drops the last reference, usually
 * libzmq's I/O thread; a JavaScript free function there is a thread-safe callback that
 * blocks that I/O thread until the event loop runs it (and keeps the reactor from parking).
 *
 * So a lent frame gets a native no-op free function instead, and this module keeps one
 * reference of its own (a `keeper` message) and sends a `zmq_msg_copy` of it. libzmq's
 * copies share one content block with an atomic reference count; when that count reads 1,
 * only the keeper is left, libzmq is done with the bytes, and closing the keeper (on this
 * thread) frees the block. Reading the count relies on libzmq's message layout, so
 * {@linkcode createLentFrames} first proves the layout on a probe message and returns null when
 * it does not hold (another libzmq build): the caller then keeps its callback path.
 *
 * @module
 */

import type { ZmqSymbols } from "./ffi.ts";

/** libzmq 4.x `msg_t` (64 bytes): a long message's `content_t *` follows `metadata_t *`. */
const CONTENT_OFFSET = 8;
/** `content_t { void *data; size_t size; msg_free_fn *ffn; void *hint; atomic refcnt; }` */
const REFCOUNT_OFFSET = 32;
/** Where `msg_t` keeps its type byte, and libzmq 4.x's value for a long message. */
const TYPE_OFFSET = 42;
const TYPE_LMSG = 102;
/** Keeper buffers kept for reuse (each is a 64-byte zmq_msg_t). */
const SPARE_KEEPERS = 1024;
/** While frames are lent, the head of the queue is checked this often (ms). */
const RECLAIM_INTERVAL_MS = 2;
/** ...and every lent frame (out of order releases) once per this many checks. */
const FULL_SCAN_EVERY = 16;

interface Lent {
  keeper: Uint8Array;
  content: Deno.UnsafePointerView;
  frame: Uint8Array;
}

/**
 * The registry of lent frames (see {@linkcode createLentFrames}).
 *
 * @example
 * ```ts
 * import { createLentFrames, type LentFrames } from "./lent_frames.ts";
 * import { libzmq } from "./context.ts";
 * import { platform } from "./libc.ts";
 * const lent: LentFrames | null = createLentFrames(libzmq().symbols, platform().noopFunction, () => {});
 * console.log(lent?.size ?? 0);
 * ```
 */
export class LentFrames {
  #z: ZmqSymbols;
  #noop: Deno.PointerValue;
  #queue: (Lent | undefined)[] = [];
  #head = 0;
  #count = 0;
  #spare: Uint8Array[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #checks = 0;
  #onRelease: (frame: Uint8Array) => void;

  constructor(z: ZmqSymbols, noop: Deno.PointerValue, onRelease: (frame: Uint8Array) => void) {
    this.#z = z;
    this.#noop = noop;
    this.#onRelease = onRelease;
  }

  /** Frames libzmq still holds. */
  get size(): number {
    return this.#count;
  }

  /**
   * Sends `frame` without copying it (`zmq_msg_send` of a copy of a keeper message): the
   * send's return code, or minus errno on failure (then nothing stays lent).
   */
  send(frame: Uint8Array, handle: Deno.PointerObject, flags: number, msg: Uint8Array): number {
    const z = this.#z;
    // No reclaim here: callers read zeroCopyFramesInFlight() around a synchronous send and
    // expect only this send to change it (Lab 18's pool does).
    const keeper = this.#spare.pop() ?? new Uint8Array(new ArrayBuffer(64));
    const data = Deno.UnsafePointer.of(frame as Uint8Array<ArrayBuffer>);
    if (z.zmq_msg_init_data(keeper, data, BigInt(frame.byteLength), this.#noop, null) !== 0) {
      this.#spare.push(keeper);
      return -z.zmq_errno();
    }
    z.zmq_msg_init(msg);
    z.zmq_msg_copy(msg, keeper); // both share the content block: its count is now 2
    const rc = z.zmq_msg_send(msg, handle, flags);
    if (rc < 0) {
      const errno = z.zmq_errno();
      z.zmq_msg_close(msg);
      z.zmq_msg_close(keeper);
      this.#spare.push(keeper);
      return -errno;
    }
    const content = contentView(keeper);
    this.#queue.push({ keeper, content, frame });
    this.#count++;
    this.#timer ??= startTimer(() => this.#tick());
    return rc;
  }

  /** Releases lent frames libzmq is done with, from the oldest, up to the first it holds. */
  reclaim(): void {
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const lent = queue[this.#head];
      if (lent !== undefined) {
        if (lent.content.getUint32(REFCOUNT_OFFSET) !== 1) break;
        this.#release(lent);
      }
      queue[this.#head++] = undefined;
    }
    this.#compact();
  }

  /** Releases every lent frame libzmq is done with, in any order. */
  reclaimAll(): void {
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) {
      const lent = queue[i];
      if (lent !== undefined && lent.content.getUint32(REFCOUNT_OFFSET) === 1) {
        this.#release(lent);
        queue[i] = undefined;
      }
    }
    this.reclaim();
  }

  #release(lent: Lent): void {
    this.#z.zmq_msg_close(lent.keeper); // the last reference: libzmq frees the block here
    if (this.#spare.length < SPARE_KEEPERS) this.#spare.push(lent.keeper);
    this.#count--;
    this.#onRelease(lent.frame);
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#count === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #tick(): void {
    if (++this.#checks % FULL_SCAN_EVERY === 0) this.reclaimAll();
    else this.reclaim();
  }
}

function contentView(msg: Uint8Array): Deno.UnsafePointerView {
  const address = new DataView(msg.buffer, msg.byteOffset, 64).getBigUint64(CONTENT_OFFSET, true);
  return new Deno.UnsafePointerView(Deno.UnsafePointer.create(address)!);
}

function startTimer(tick: () => void): ReturnType<typeof setInterval> {
  const timer = setInterval(tick, RECLAIM_INTERVAL_MS);
  Deno.unrefTimer(timer); // lent frames alone do not keep a process alive
  return timer;
}

/**
 * Proves on a probe message that libzmq's layout is the one this module reads: the
 * content block names the frame's address and size, and its count goes 2 -> 1 as a copy
 * closes.
 */
function layoutHolds(z: ZmqSymbols, noop: Deno.PointerValue): boolean {
  const probe = new Uint8Array(64);
  const keeper = new Uint8Array(new ArrayBuffer(64));
  const copy = new Uint8Array(new ArrayBuffer(64));
  const data = Deno.UnsafePointer.of(probe);
  if (z.zmq_msg_init_data(keeper, data, 64n, noop, null) !== 0) return false;
  try {
    // Never follow a pointer that is not one: check the type byte and the address first.
    if (keeper[TYPE_OFFSET] !== TYPE_LMSG) return false;
    const address = new DataView(keeper.buffer).getBigUint64(CONTENT_OFFSET, true);
    if (address === 0n || address % 8n !== 0n || address >= 1n << 56n) return false;
    const content = contentView(keeper);
    if (content.getBigUint64(0) !== Deno.UnsafePointer.value(data)) return false;
    if (content.getBigUint64(8) !== 64n) return false;
    z.zmq_msg_init(copy);
    z.zmq_msg_copy(copy, keeper);
    const shared = content.getUint32(REFCOUNT_OFFSET);
    z.zmq_msg_close(copy);
    return shared === 2 && content.getUint32(REFCOUNT_OFFSET) === 1;
  } catch {
    return false;
  } finally {
    z.zmq_msg_close(keeper);
  }
}

/**
 * A lent-frame registry, or null when this libzmq's layout cannot be read or there is no
 * native no-op function (not Linux): zero-copy sends then use a callback. `onRelease` runs
 * on this thread for each frame libzmq let go of. One per process is enough.
 *
 * @example
 * ```ts
 * import { createLentFrames } from "./lent_frames.ts";
 * import { libzmq } from "./context.ts";
 * import { platform } from "./libc.ts";
 * const lent = createLentFrames(libzmq().symbols, platform().noopFunction, () => {});
 * console.log(lent === null ? "callback path" : "lent path");
 * ```
 */
export function createLentFrames(
  z: ZmqSymbols,
  noop: Deno.PointerValue,
  onRelease: (frame: Uint8Array) => void,
): LentFrames | null {
  return noop !== null && layoutHolds(z, noop) ? new LentFrames(z, noop, onRelease) : null;
}
