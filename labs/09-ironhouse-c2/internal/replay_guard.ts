/**
 * The agent's replay guard: a command number is accepted once and only if it is above
 * every number accepted before (the server numbers commands in increasing order).
 *
 * @module
 */

/** A replay state file is a few bytes of JSON; anything larger is refused unread. */
export const MAX_STATE_BYTES = 4096;

/**
 * Accepts strictly increasing command numbers.
 *
 * @example
 * ```ts
 * import { ReplayGuard } from "./replay_guard.ts";
 * const guard = new ReplayGuard();
 * guard.accept(5); // true
 * guard.accept(5); // false: a replay
 * ```
 */
export class ReplayGuard {
  #last = 0;
  #refused = 0;

  /** Whether `seq` is new (and, if so, remembers it). */
  accept(seq: number): boolean {
    if (seq <= this.#last) {
      this.#refused++;
      return false;
    }
    this.#last = seq;
    return true;
  }

  /** The highest accepted number (0 before the first). */
  get last(): number {
    return this.#last;
  }

  /** How many commands were refused as replays. */
  get refused(): number {
    return this.#refused;
  }
}

/**
 * The replay memory on disk: the highest command number accepted, written before the
 * command runs (write-ahead: a crash between the write and the run can lose a command,
 * never run one twice) so a restarted agent does not accept an old number again. The
 * file is JSON `{"last_seq": N}`, written to a temporary file (mode 0600) and renamed
 * over the old one, so it is always either the old or the new number, never torn.
 *
 * @example
 * ```ts
 * import { ReplayState } from "./replay_guard.ts";
 * const dir = await Deno.makeTempDir();
 * const state = ReplayState.open(`${dir}/agent1.replay`);
 * state.guard.accept(5) && state.save(); // true
 * ReplayState.open(`${dir}/agent1.replay`).guard.last; // 5
 * ```
 */
export class ReplayState {
  readonly path: string;
  readonly guard: ReplayGuard;

  private constructor(path: string, guard: ReplayGuard) {
    this.path = path;
    this.guard = guard;
  }

  /**
   * Loads the state (a missing file is a first run: 0). A file that is not valid state
   * throws a `TypeError` naming the problem: starting from 0 would re-open replays.
   */
  static open(path: string): ReplayState {
    const guard = new ReplayGuard();
    let text: string | undefined;
    try {
      // A FIFO or /dev/zero would block or read for ever: a regular, small file only.
      const info = Deno.statSync(path);
      if (!info.isFile) throw new TypeError(`${path}: the replay state is not a regular file`);
      if (info.size > MAX_STATE_BYTES) {
        throw new TypeError(
          `${path}: the replay state is larger than ${MAX_STATE_BYTES} bytes, not replay state`,
        );
      }
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof TypeError) throw error;
      if (!(error instanceof Deno.errors.NotFound)) {
        throw new TypeError(`${path}: cannot read the replay state: ${(error as Error).name}`);
      }
    }
    if (text !== undefined) {
      let last: unknown;
      try {
        last = JSON.parse(text).last_seq;
      } catch {
        // reported below
      }
      if (typeof last !== "number" || !Number.isSafeInteger(last) || last < 0) {
        throw new TypeError(
          `${path}: expected replay state {"last_seq": <integer>}, got something else ` +
            `(remove it only if you accept that old command numbers may run again)`,
        );
      }
      if (last > 0) guard.accept(last);
    }
    return new ReplayState(path, guard);
  }

  /** Writes the guard's highest number (atomically: temporary file, then rename). */
  save(): true {
    const tmp = `${this.path}.tmp`;
    // A fresh file, never through a symlink someone left at the temporary name.
    try {
      Deno.removeSync(tmp);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      file.writeSync(new TextEncoder().encode(JSON.stringify({ last_seq: this.guard.last })));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, this.path);
    return true;
  }
}
