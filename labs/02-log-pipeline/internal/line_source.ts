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
  #parts: Uint8Array[] = [];
  #held = 0;
  #total = 0;
  #decoder = new TextDecoder();

  constructor(maxLineBytes: number) {
    this.#max = maxLineBytes;
  }

  #emit(out: InputLine[]): void {
    const buf = new Uint8Array(this.#held);
    let off = 0;
    for (const p of this.#parts) {
      buf.set(p, off);
      off += p.length;
    }
    let end = buf.length;
    if (this.#total === this.#held && end > 0 && buf[end - 1] === 13) end--;
    const line = this.#decoder.decode(buf.subarray(0, end));
    out.push(this.#total > this.#max ? { line, oversize: this.#total } : { line });
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
  push(chunk: Uint8Array): InputLine[] {
    const out: InputLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.#keep(chunk.subarray(start, nl));
      this.#emit(out);
      start = nl + 1;
    }
    if (start < chunk.length) this.#keep(chunk.subarray(start));
    return out;
  }

  /** Whether an unterminated line is pending. */
  get pending(): boolean {
    return this.#total > 0;
  }

  /** Flushes an unterminated last line. */
  end(): InputLine[] {
    const out: InputLine[] = [];
    if (this.#total > 0) this.#emit(out);
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
}

interface Tail {
  path: string;
  offset: number;
  ino: number | null;
  max: number;
  splitter: LineSplitter;
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
    if (e.isFile && !e.name.startsWith(".")) names.push(`${path}/${e.name}`);
  }
  return names.sort();
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
      tail.splitter = new LineSplitter(tail.max);
    }
    tail.ino = info.ino;
    await file.seek(tail.offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = await file.read(buf);
      if (n === null || n === 0) break;
      tail.offset += n;
      yield* tail.splitter.push(buf.subarray(0, n));
    }
    if (final) yield* tail.splitter.end();
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
          tails.set(path, { path, offset: 0, ino: null, max, splitter: new LineSplitter(max) });
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
