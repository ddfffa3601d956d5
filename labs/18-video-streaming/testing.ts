/**
 * Lab 18 test helpers: start the real roles (JSON stats on stdout, short report period)
 * and wait for a stats line that satisfies a predicate.
 *
 * @module
 */

import {
  type ListeningRole,
  type RoleProcess,
  spawnListening,
  spawnRole,
} from "@lib/testing/mod.ts";

/** One JSON stats line of a role (`camera_stats`, `engine_stats`, `engine_done`, ...). */
export type Stats = Record<string, number | string> & { event: string };

/** Report period used in tests (ms). */
export const REPORT_MS = "300";

/** A 1280×720 NV12 frame: 1,382,400 bytes, over lib/zmq's 1 MiB zero-copy threshold. */
export const HD = ["--width", "1280", "--height", "720"];

/**
 * Starts camera_feed on `bind` (an ephemeral tcp port or an ipc path) with JSON stats.
 *
 * @example
 * ```ts
 * import { camera, HD } from "./testing.ts";
 * await using cam = await camera("tcp://127.0.0.1:*", [...HD, "--fps", "30"]);
 * console.log(cam.endpoint);
 * ```
 */
export function camera(bind: string, args: string[] = []): Promise<ListeningRole> {
  return spawnListening("18", "camera_feed", [
    ...["--bind", bind, "--json", "--report-ms", REPORT_MS],
    ...args,
  ]);
}

/**
 * Starts an analytics_engine connected to `endpoint` with JSON stats.
 *
 * @example
 * ```ts
 * import { engine } from "./testing.ts";
 * await using fast = await engine("tcp://127.0.0.1:5518", ["--name", "fast"]);
 * ```
 */
export function engine(endpoint: string, args: string[] = []): Promise<RoleProcess> {
  return spawnRole("18", "analytics_engine", [
    ...["--connect", endpoint, "--json", "--report-ms", REPORT_MS],
    ...args,
  ]);
}

/** Parses one stdout line as stats, or null. */
function parse(line: string): Stats | null {
  if (!line.startsWith("{")) return null;
  try {
    return JSON.parse(line) as Stats;
  } catch {
    return null;
  }
}

/**
 * Waits for the first stats line named `event` (from the start of the output) that
 * satisfies `pred`.
 *
 * @example
 * ```ts
 * import { engine, statsLine } from "./testing.ts";
 * await using e = await engine("tcp://127.0.0.1:5518");
 * const s = await statsLine(e, "engine_stats", (s) => Number(s.frames) >= 10);
 * ```
 */
export async function statsLine(
  proc: RoleProcess,
  event: string,
  pred: (stats: Stats) => boolean = () => true,
  timeout = 60_000,
): Promise<Stats> {
  const line = await proc.stdoutLine((l) => {
    const s = parse(l);
    return s !== null && s.event === event && pred(s);
  }, { timeout });
  return parse(line)!;
}

/**
 * Every stats line named `event` so far.
 *
 * @example
 * ```ts
 * import { allStats, engine } from "./testing.ts";
 * await using e = await engine("tcp://127.0.0.1:5518");
 * console.log(allStats(e, "engine_stats").length);
 * ```
 */
export function allStats(proc: RoleProcess, event: string): Stats[] {
  return proc.stdoutLines.map(parse).filter((s): s is Stats => s?.event === event);
}

/**
 * A hand-rolled ZMTP 3.0 (NULL mechanism) peer over a raw TCP connection, for tests that
 * need to put on the wire what no well-behaved libzmq sends (a frame header declaring a
 * multi-GB frame). Does the greeting and the READY handshake as `socketType`.
 *
 * @example
 * ```ts ignore
 * import { zmtpHandshake } from "./testing.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 5518 });
 * await zmtpHandshake(conn, "DEALER");
 * ```
 */
export async function zmtpHandshake(conn: Deno.Conn, socketType: string): Promise<void> {
  const greeting = new Uint8Array(64);
  greeting.set([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0]);
  greeting.set(new TextEncoder().encode("NULL"), 12);
  await writeAll(conn, greeting);
  await readExactly(conn, 64);
  const name = new TextEncoder().encode("Socket-Type");
  const value = new TextEncoder().encode(socketType);
  const body = new Uint8Array([
    5,
    ...new TextEncoder().encode("READY"),
    name.length,
    ...name,
    0,
    0,
    0,
    value.length,
    ...value,
  ]);
  await writeAll(conn, new Uint8Array([0x04, body.length, ...body]));
  const [flags] = await readExactly(conn, 1);
  const sizeBytes = await readExactly(conn, flags & 0x02 ? 8 : 1);
  const size = flags & 0x02 ? Number(new DataView(sizeBytes.buffer).getBigUint64(0)) : sizeBytes[0];
  await readExactly(conn, size);
}

/**
 * The header of a ZMTP long frame declaring `size` bytes (`more` sets the MORE flag).
 *
 * @example
 * ```ts
 * import { zmtpLongFrameHeader } from "./testing.ts";
 * console.log(zmtpLongFrameHeader(2 ** 31).length); // 9
 * ```
 */
export function zmtpLongFrameHeader(size: number, more = false): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = 0x02 | (more ? 0x01 : 0);
  new DataView(out.buffer).setBigUint64(1, BigInt(size));
  return out;
}

/** Writes all of `bytes` to `conn`. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Reads exactly `n` bytes from `conn` (throws at EOF). */
async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new Error(`connection closed after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

/**
 * Writes `total` bytes of zeros to `conn` in 1 MiB chunks; returns how many were written
 * before the peer cut the connection (`total` if it never did).
 *
 * @example
 * ```ts ignore
 * import { writeUntilCut } from "./testing.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 5518 });
 * console.log(await writeUntilCut(conn, 1 << 20));
 * ```
 */
export async function writeUntilCut(conn: Deno.Conn, total: number): Promise<number> {
  const chunk = new Uint8Array(1 << 20);
  let written = 0;
  try {
    while (written < total) written += await conn.write(chunk.subarray(0, total - written));
  } catch {
    // reset by the peer
  }
  return written;
}
