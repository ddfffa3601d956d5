/**
 * The audit trail: one JSON object per line (NDJSON), appended and flushed per record,
 * with a timestamp. Records carry key fingerprints, never keys.
 *
 * @module
 */

/**
 * An append-only NDJSON file.
 *
 * @example
 * ```ts
 * import { AuditLog } from "./audit_log.ts";
 * const dir = await Deno.makeTempDir();
 * const audit = await AuditLog.open(`${dir}/audit.ndjson`);
 * await audit.write({ event: "command", seq: 1 });
 * audit.close();
 * ```
 */
export class AuditLog {
  #file: Deno.FsFile;
  #encoder = new TextEncoder();
  #queue: Promise<void> = Promise.resolve();

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens (creating, mode 0600) for appending. */
  static async open(path: string): Promise<AuditLog> {
    return new AuditLog(
      await Deno.open(path, { append: true, create: true, mode: 0o600 }),
    );
  }

  /** Appends one record (in call order). */
  write(record: Record<string, unknown>): Promise<void> {
    const line = this.#encoder.encode(
      JSON.stringify({ ts: new Date().toISOString(), ...record }) + "\n",
    );
    this.#queue = this.#queue.then(async () => {
      let written = 0;
      while (written < line.length) written += await this.#file.write(line.subarray(written));
    });
    return this.#queue;
  }

  /** Closes the file once pending records are written. */
  async close(): Promise<void> {
    await this.#queue.catch(() => {});
    this.#file.close();
  }
}
