/**
 * Line input for the collector: files, directories (every regular file, sorted) and
 * stdin, with a follow mode that tails files and picks up new ones (truncation or
 * replacement restarts a file from the beginning). Lines longer than the limit are cut
 * and flagged, never split or silently dropped.
 *
 * @module
 */

/** One input line. */
export interface InputLine {
  line: string;
  /** Set when the line was cut: its full size in bytes. */
  oversize?: number;
  /** Set when the bytes were not valid UTF-8 (decoded with U+FFFD replacements). */
  invalidUtf8?: true;
  /** Where the line is in its file (file inputs only): bytes [start, end), newline included. */
  at?: LinePosition;
}

/** A line's place in a file: path, inode and byte range (the newline included). */
export interface LinePosition {
  path: string;
  ino: number | null;
  start: number;
  end: number;
}

/** Where to resume reading a file (a checkpoint). */
export interface ResumePosition {
  ino: number | null;
  offset: number;
}

/**
 * Splits byte chunks into lines (`\n`, with an optional `\r` before it). A line longer
 * than `maxLineBytes` is cut to that many bytes and carries its full size.
 *
 * @example
 * ```ts
 * const splitter = new LineSplitter(16384);
 * splitter.push(bytes); // InputLine[] complete so far
 * splitter.end();       // the unterminated last line, if any
 * ```
 */
export class LineSplitter {
  #max: number;
  #base: number | undefined;
  #fed = 0;
  #parts: Uint8Array[] = [];
  #held = 0;
  #total = 0;
  #decoder = new TextDecoder();
  #strict = new TextDecoder("utf-8", { fatal: true });

  /**
   * With `base` (the file offset of the first byte fed), every line also carries `end`:
   * the file offset just after it (after its newline).
   */
  constructor(maxLineBytes: number, base?: number) {
    this.#max = maxLineBytes;
    this.#base = base;
  }

  #emit(out: (InputLine & { end?: number })[], after: number): void {
    const buf = new Uint8Array(this.#held);
    let off = 0;
    for (const p of this.#parts) {
      buf.set(p, off);
      off += p.length;
    }
    let end = buf.length;
    if (this.#total === this.#held && end > 0 && buf[end - 1] === 13) end--;
    let line: string;
    let invalid = false;
    try {
      line = this.#strict.decode(buf.subarray(0, end));
    } catch {
      // Not UTF-8 (e.g. Latin-1 "caf\xe9"): keep the text with U+FFFD, flagged.
      line = this.#decoder.decode(buf.subarray(0, end));
      invalid = true;
    }
    const l: InputLine & { end?: number } = this.#total > this.#max
      ? { line, oversize: this.#total }
      : invalid
      ? { line, invalidUtf8: true }
      : { line };
    if (this.#base !== undefined) l.end = this.#base + after;
    out.push(l);
    this.#parts = [];
    this.#held = 0;
    this.#total = 0;
  }

  #keep(bytes: Uint8Array): void {
    this.#total += bytes.length;
    const room = this.#max - this.#held;
    if (room > 0) {
      const part = bytes.length > room ? bytes.slice(0, room) : bytes.slice();
      this.#parts.push(part);
      this.#held += part.length;
    }
  }

  /** Feeds a chunk; returns the lines it completed. */
  push(chunk: Uint8Array): (InputLine & { end?: number })[] {
    const out: (InputLine & { end?: number })[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.#keep(chunk.subarray(start, nl));
      this.#emit(out, this.#fed + nl + 1);
      start = nl + 1;
    }
    if (start < chunk.length) this.#keep(chunk.subarray(start));
    this.#fed += chunk.length;
    return out;
  }

  /** Whether an unterminated line is pending. */
  get pending(): boolean {
    return this.#total > 0;
  }

  /** Flushes an unterminated last line. */
  end(): (InputLine & { end?: number })[] {
    const out: (InputLine & { end?: number })[] = [];
    if (this.#total > 0) this.#emit(out, this.#fed);
    return out;
  }
}

/** Options for {@linkcode readLines}. */
export interface SourceOptions {
  /** Files, directories, or "-" for stdin. */
  inputs: string[];
  follow: boolean;
  maxLineBytes: number;
  /** How often follow mode looks for new data (ms). */
  pollInterval: number;
  signal: AbortSignal;
  sleep: (ms: number) => Promise<void>;
  /**
   * Per file path, where to start (a checkpoint): used when the file still has that inode
   * and is at least that long, else the file is read from the start.
   */
  resume?: Map<string, ResumePosition>;
}

interface Tail {
  path: string;
  offset: number;
  ino: number | null;
  max: number;
  splitter: LineSplitter;
  /** Start offset of the next line. */
  lineStart: number;
}

async function* readStream(
  stream: ReadableStream<Uint8Array>,
  max: number,
  signal: AbortSignal,
): AsyncGenerator<InputLine> {
  const splitter = new LineSplitter(max);
  const reader = stream.getReader();
  const onAbort = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* splitter.push(value);
    }
    yield* splitter.end();
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}

async function filesOf(path: string): Promise<string[]> {
  const info = await Deno.stat(path);
  if (info.isFile) return [path];
  if (!info.isDirectory) throw new Error(`input ${path}: expected a file or directory`);
  const names: string[] = [];
  for await (const e of Deno.readDir(path)) {
    if (e.name.startsWith(".")) continue;
    if (e.isFile) names.push(`${path}/${e.name}`);
    else if (e.isSymlink && await isFileBehindLink(`${path}/${e.name}`)) {
      names.push(`${path}/${e.name}`);
    }
  }
  return names.sort();
}

/**
 * Whether a symlink leads to a regular file (Kubernetes' /var/log/containers is all
 * links). `stat` follows the chain; a loop (ELOOP), a dangling link or a link to a
 * directory is skipped (directories are not descended into, so no loop can recur).
 */
async function isFileBehindLink(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Reads the lines in bytes [start, end) of a file again (a batch replayed from a
 * checkpoint). Returns null when the file is gone, was replaced (other inode) or is
 * shorter than `end`.
 *
 * @example
 * ```ts
 * await readRange({ path: "/var/log/app.log", ino: 42, start: 0, end: 120 }, 16384);
 * ```
 */
export async function readRange(
  at: LinePosition,
  maxLineBytes: number,
): Promise<InputLine[] | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(at.path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    const info = await file.stat();
    if ((at.ino !== null && info.ino !== at.ino) || info.size < at.end) return null;
    await file.seek(at.start, Deno.SeekMode.Start);
    const buf = new Uint8Array(at.end - at.start);
    let off = 0;
    while (off < buf.length) {
      const n = await file.read(buf.subarray(off));
      if (n === null || n === 0) return null;
      off += n;
    }
    const splitter = new LineSplitter(maxLineBytes, at.start);
    const lines = [...splitter.push(buf), ...splitter.end()];
    return lines.map(({ end, ...l }, i) => ({
      ...l,
      at: { path: at.path, ino: at.ino, start: i === 0 ? at.start : lines[i - 1].end!, end: end! },
    }));
  } finally {
    file.close();
  }
}

/** Reads new bytes of a tailed file, up to 1 MiB at a time. */
async function* readTail(tail: Tail, final: boolean): AsyncGenerator<InputLine> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tail.path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  try {
    const info = await file.stat();
    if ((tail.ino !== null && info.ino !== tail.ino) || info.size < tail.offset) {
      tail.offset = 0; // rotated or truncated: start over
      tail.lineStart = 0;
      tail.splitter = new LineSplitter(tail.max, 0);
    }
    tail.ino = info.ino;
    await file.seek(tail.offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(1 << 20);
    const place = (lines: (InputLine & { end?: number })[]): InputLine[] =>
      lines.map(({ end, ...l }) => {
        l.at = { path: tail.path, ino: tail.ino, start: tail.lineStart, end: end! };
        tail.lineStart = end!;
        return l;
      });
    for (;;) {
      const n = await file.read(buf);
      if (n === null || n === 0) break;
      tail.offset += n;
      yield* place(tail.splitter.push(buf.subarray(0, n)));
    }
    if (final) yield* place(tail.splitter.end());
  } finally {
    file.close();
  }
}

/**
 * Yields every line of the inputs in order. Without follow it ends after the last line;
 * with follow it keeps polling until `signal` aborts (stdin always ends at EOF).
 *
 * @example
 * ```ts
 * for await (const { line } of readLines({ inputs: ["/var/log/syslog"], follow: false, ... })) {}
 * ```
 */
export async function* readLines(options: SourceOptions): AsyncGenerator<InputLine> {
  const { signal } = options;
  const tails = new Map<string, Tail>();
  const discover = async () => {
    for (const input of options.inputs) {
      if (input === "-") continue;
      for (const path of await filesOf(input)) {
        if (!tails.has(path)) {
          const max = options.maxLineBytes;
          // A checkpointed file resumes at its offset; readTail starts it over when the
          // inode changed or the file shrank.
          const at = options.resume?.get(path);
          const offset = at?.offset ?? 0;
          tails.set(path, {
            path,
            offset,
            ino: at?.ino ?? null,
            max,
            splitter: new LineSplitter(max, offset),
            lineStart: offset,
          });
        }
      }
    }
  };
  for (const input of options.inputs) {
    if (input === "-") yield* readStream(Deno.stdin.readable, options.maxLineBytes, signal);
  }
  await discover();
  for (const tail of tails.values()) {
    if (signal.aborted) return;
    yield* readTail(tail, !options.follow);
  }
  while (options.follow && !signal.aborted) {
    await options.sleep(options.pollInterval);
    if (signal.aborted) return;
    await discover();
    for (const tail of tails.values()) yield* readTail(tail, false);
  }
}
