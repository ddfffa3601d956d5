/**
 * Size-rotated NDJSON files: `<prefix>-000001.ndjson`, `<prefix>-000002.ndjson`, ...
 * The current file is fsynced and closed before the next is opened (on rotation) and on
 * close.
 *
 * @module
 */

/** Options for {@linkcode RotatingWriter}. */
export interface RotatingWriterOptions {
  dir: string;
  prefix: string;
  /** Rotate before a write would make the file larger than this (bytes). */
  maxBytes: number;
  /** Called after each rotation with the closed file's path. */
  onRotate?: (closed: string) => void;
}

/**
 * Appends whole NDJSON chunks; never splits a chunk across files.
 *
 * @example
 * ```ts
 * const w = new RotatingWriter({ dir: "/tmp/out", prefix: "records", maxBytes: 64 << 20 });
 * w.write('{"a":1}\n');
 * w.close(); // fsync + close
 * ```
 */
export class RotatingWriter {
  #options: RotatingWriterOptions;
  #file: Deno.FsFile | null = null;
  #path = "";
  #index: number;
  #size = 0;
  #encoder = new TextEncoder();
  /** Rotations so far. */
  rotations = 0;

  constructor(options: RotatingWriterOptions) {
    this.#options = options;
    Deno.mkdirSync(options.dir, { recursive: true });
    this.#index = 0;
    const re = new RegExp(`^${options.prefix}-(\\d{6})\\.ndjson$`);
    for (const entry of Deno.readDirSync(options.dir)) {
      const m = re.exec(entry.name);
      if (m) this.#index = Math.max(this.#index, Number(m[1]));
    }
  }

  /** Path of the file being written ("" before the first write). */
  get path(): string {
    return this.#path;
  }

  #open(): void {
    this.#index++;
    this.#path = `${this.#options.dir}/${this.#options.prefix}-${
      String(this.#index).padStart(6, "0")
    }.ndjson`;
    this.#file = Deno.openSync(this.#path, { append: true, create: true });
    this.#size = 0;
  }

  /** Appends `text` (one or more whole lines). */
  write(text: string): void {
    if (text === "") return;
    const bytes = this.#encoder.encode(text);
    if (this.#file && this.#size > 0 && this.#size + bytes.length > this.#options.maxBytes) {
      this.rotate();
    }
    if (!this.#file) this.#open();
    let off = 0;
    while (off < bytes.length) off += this.#file!.writeSync(bytes.subarray(off));
    this.#size += bytes.length;
  }

  /** fsyncs and closes the current file; the next write opens a new one. */
  rotate(): void {
    if (!this.#file) return;
    const closed = this.#path;
    this.#file.syncSync();
    this.#file.close();
    this.#file = null;
    this.rotations++;
    this.#options.onRotate?.(closed);
  }

  /** fsyncs the current file. */
  sync(): void {
    this.#file?.syncSync();
  }

  /** fsyncs and closes. */
  close(): void {
    if (!this.#file) return;
    this.#file.syncSync();
    this.#file.close();
    this.#file = null;
  }
}
