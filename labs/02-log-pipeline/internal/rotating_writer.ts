/**
 * Size-rotated NDJSON files: `<prefix>-000001.ndjson`, `<prefix>-000002.ndjson`, ...
 * The current file is fsynced and closed before the next is opened (on rotation) and on
 * close.
 *
 * @module
 */

/** A position in a series of rotated files: file index (1-based; 0 = no file) and size. */
export interface FilePosition {
  index: number;
  size: number;
}

/**
 * Path of file `index` of a series.
 *
 * @example
 * ```ts
 * fileName("/tmp/out", "records", 3); // "/tmp/out/records-000003.ndjson"
 * ```
 */
export function fileName(dir: string, prefix: string, index: number): string {
  return `${dir}/${prefix}-${String(index).padStart(6, "0")}.ndjson`;
}

/**
 * Cuts a series back to `pos`: files after `pos.index` are removed and file `pos.index`
 * is truncated to `pos.size`. Returns the bytes removed. Used by the sink on start to
 * discard a batch that was written but never committed (the process died in between).
 *
 * @example
 * ```ts
 * rollBack("/tmp/out", "records", { index: 2, size: 4096 }); // 0 when nothing was cut
 * ```
 */
export function rollBack(dir: string, prefix: string, pos: FilePosition): number {
  const re = new RegExp(`^${prefix}-(\\d{6})\\.ndjson$`);
  let removed = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const m = re.exec(entry.name);
    if (!m) continue;
    const index = Number(m[1]);
    const path = `${dir}/${entry.name}`;
    const size = Deno.statSync(path).size;
    if (index > pos.index) {
      Deno.removeSync(path);
      removed += size;
    } else if (index === pos.index && size > pos.size) {
      Deno.truncateSync(path, pos.size);
      removed += size - pos.size;
    }
  }
  return removed;
}

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
    // Position = end of the newest existing file (the next write opens a new one).
    if (this.#index > 0) {
      this.#size = Deno.statSync(fileName(options.dir, options.prefix, this.#index)).size;
    }
  }

  /**
   * Where the data written so far ends: the newest file's index (0 = none) and size.
   * The sink commits it with each batch, so a restart can cut off an uncommitted tail.
   */
  get position(): FilePosition {
    return { index: this.#index, size: this.#size };
  }

  /** Path of the file being written ("" before the first write). */
  get path(): string {
    return this.#path;
  }

  #open(): void {
    this.#index++;
    this.#path = fileName(this.#options.dir, this.#options.prefix, this.#index);
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
