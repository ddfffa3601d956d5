/**
 * Checks a hash-chained log and reports the first bad entry.
 *
 * @module
 */
import { entryHash, formatEntry, GENESIS_HASH, parseEntry } from "./hash_chain.ts";

/** The first problem found in a log. */
export interface ChainFault {
  /** 1-based line number of the bad line. */
  line: number;
  /** The seq the line should have had (= line number). */
  seq: number;
  /** What is wrong, e.g. "hash mismatch: expected ..., got ...". */
  reason: string;
}

/** Result of {@link verifyChain}. */
export interface ChainReport {
  /** True when every complete line chains correctly. */
  ok: boolean;
  /** Entries checked and found good. */
  entries: number;
  /** The last good entry's hash (GENESIS_HASH for an empty log). */
  head: string;
  /** Set when `ok` is false. */
  fault?: ChainFault;
  /** True when the file ends in an unterminated line (a crash mid-append; never acked). */
  tornTail: boolean;
}

/** What the id index says was committed (fsynced, and possibly acknowledged). */
export interface Committed {
  /** Entries committed. */
  seq: number;
  /** Hash of the last committed entry. */
  head: string;
}

/**
 * Incremental chain checker: feed complete lines in order, stop at the first fault.
 *
 * @example
 * ```ts
 * const v = new ChainVerifier();
 * for (const line of lines) if (!v.push(line)) break;
 * const report = v.report(false);
 * ```
 */
export class ChainVerifier {
  #ids = new Set<string>();
  #prev = GENESIS_HASH;
  #entries = 0;
  #fault: ChainFault | undefined;
  #committed: Committed | undefined;

  /** With `committed`, the log must also carry every line the index committed. */
  constructor(committed?: Committed) {
    this.#committed = committed;
  }

  /** Checks the next complete line (without newline); false once a fault was found. */
  push(line: string): boolean {
    if (this.#fault) return false;
    const seq = this.#entries + 1;
    const reason = this.#check(line, seq);
    if (reason !== null) {
      this.#fault = { line: seq, seq, reason };
      return false;
    }
    this.#entries = seq;
    return true;
  }

  #check(line: string, seq: number): string | null {
    let entry;
    try {
      entry = parseEntry(line);
    } catch (error) {
      return (error as Error).message;
    }
    if (entry.seq !== seq) return `seq out of order: expected ${seq}, got ${entry.seq}`;
    if (entry.prev_hash !== this.#prev) {
      return `prev_hash mismatch: expected ${this.#prev}, got ${entry.prev_hash}`;
    }
    let hash: string;
    try {
      hash = entryHash(this.#prev, entry);
    } catch (error) {
      return (error as Error).message;
    }
    if (hash !== entry.hash) return `hash mismatch: expected ${hash}, got ${entry.hash}`;
    // The hash covers canonical JSON; a line must also be spelled exactly as the writer
    // spells it, so no byte of it escapes the hash (1E+21 for 1e+21, \u001F, key order).
    if (formatEntry(entry) !== line + "\n") {
      return "line is not in canonical form: its bytes differ from the hashed content " +
        "(an alteration that keeps the values, e.g. 1E+21 for 1e+21)";
    }
    if (this.#ids.has(entry.id)) return `duplicate id ${JSON.stringify(entry.id)}`;
    if (this.#committed && seq === this.#committed.seq && hash !== this.#committed.head) {
      return `hash differs from the committed one in the index: expected ${this.#committed.head}, got ${hash}`;
    }
    this.#ids.add(entry.id);
    this.#prev = hash;
    return null;
  }

  /**
   * Ends the check: `tail` is what followed the last newline. An empty tail or a partial
   * line (an interrupted append, never acknowledged) is fine, unless the index says more
   * lines were committed; a whole valid entry without its newline is an alteration (the
   * writer always ends a line with one), since it may have been acknowledged.
   */
  finish(tail: string): ChainReport {
    if (!this.#fault && tail !== "") {
      let whole = false;
      try {
        const entry = parseEntry(tail.trimEnd());
        whole = entry.seq === this.#entries + 1 && entry.prev_hash === this.#prev &&
          entryHash(this.#prev, entry) === entry.hash;
      } catch {
        // a partial line
      }
      if (whole) {
        const seq = this.#entries + 1;
        this.#fault = {
          line: seq,
          seq,
          reason: "a whole entry without its terminating newline: the line was altered " +
            "(it may have been acknowledged)",
        };
      }
    }
    if (!this.#fault && this.#committed && this.#committed.seq > this.#entries) {
      const seq = this.#entries + 1;
      this.#fault = {
        line: seq,
        seq,
        reason: `the index says ${this.#committed.seq} entries were committed (acknowledged), ` +
          `the log holds ${this.#entries} intact` +
          (tail !== "" ? " and an unterminated line" : ""),
      };
    }
    return this.report(tail !== "");
  }

  /** The report so far; `tornTail` says whether the input ended without a newline. */
  report(tornTail: boolean): ChainReport {
    return {
      ok: this.#fault === undefined,
      entries: this.#entries,
      head: this.#prev,
      ...(this.#fault ? { fault: this.#fault } : {}),
      tornTail,
    };
  }
}

/**
 * Verifies log text: every line parses, seq is 1, 2, 3, ..., `prev_hash` is the previous
 * `hash`, `hash` recomputes, every line is spelled canonically, and no id appears twice.
 * An unterminated partial last line (an append cut by a crash: never fsynced, never
 * acknowledged) is reported as `tornTail`, not as a fault; a whole entry missing its
 * newline is a fault. With `committed` (from the id index), a log that holds fewer intact
 * entries than were committed fails too, naming the first missing seq; without it,
 * cutting whole lines off the end cannot be seen from the log alone.
 *
 * @example
 * ```ts
 * const report = verifyChain(await Deno.readTextFile("audit.log"));
 * if (!report.ok) console.log(report.fault);
 * ```
 */
export function verifyChain(text: string, committed?: Committed): ChainReport {
  const lines = text.split("\n");
  // The last element is either the partial line (torn tail) or the "" after the last \n.
  const verifier = new ChainVerifier(committed);
  for (let i = 0; i < lines.length - 1; i++) {
    if (!verifier.push(lines[i])) return verifier.report(false);
  }
  return verifier.finish(lines.at(-1)!);
}

/**
 * Verifies a log file as a stream (constant memory apart from the id set), stopping at the
 * first fault.
 *
 * @example
 * ```ts
 * const report = await verifyChainFile("audit.log");
 * ```
 */
export async function verifyChainFile(
  path: string,
  committed?: Committed,
): Promise<ChainReport> {
  using file = await Deno.open(path, { read: true });
  const verifier = new ChainVerifier(committed);
  let rest = "";
  const reader = file.readable.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
      let nl: number;
      let start = 0;
      while ((nl = rest.indexOf("\n", start)) >= 0) {
        if (!verifier.push(rest.slice(start, nl))) return verifier.report(false);
        start = nl + 1;
      }
      rest = rest.slice(start);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return verifier.finish(rest);
}
