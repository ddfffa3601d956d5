/**
 * Helpers for this lab's process tests: start receivers and devices as real processes
 * (optionally inside a test network namespace), read what reached storage, and check the
 * exactly-once, in-order guarantee.
 *
 * @module
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  type ListeningRole,
  type RoleProcess,
  spawnListening,
  spawnRole,
} from "@lib/testing/mod.ts";

/** Absolute path of a file under this lab's testdata/. */
export const testdata = (name: string): string =>
  new URL(`./testdata/${name}`, import.meta.url).pathname;

/** Fast heartbeats for tests (ms); liveness stays the protocol's 3. */
export const HB = 300;

/** Common fast-timing flags for both roles. */
export const FAST = ["--heartbeat-interval", String(HB)];

/**
 * Device flags of the failover tests: 300 readings, fail back after 1.5 s, and 1 s
 * heartbeats (the failover bound, in heartbeats, leaves a second of slack for load).
 */
export const FAILOVER_ARGS = [
  "--count",
  "300",
  "--interval",
  "20",
  "--failback-after",
  "1500",
  "--heartbeat-interval",
  "1000",
];

/** A running receiver and its real endpoint. */
export type Receiver = ListeningRole;

/**
 * Starts central_receiver on `bind` (default an ephemeral 127.0.0.1 port) with `db`.
 *
 * @example
 * ```ts
 * await using r = await startReceiver(`${dir.path}/r.db`);
 * ```
 */
export async function startReceiver(
  db: string,
  args: string[] = [],
  options: { bind?: string; netns?: string; name?: string } = {},
): Promise<Receiver> {
  return await spawnListening("08", "central_receiver", [
    "--bind",
    options.bind ?? "tcp://127.0.0.1:*",
    "--db",
    db,
    "--name",
    options.name ?? "r",
    "--view-interval",
    "0",
    ...FAST,
    ...args,
  ], { netns: options.netns });
}

/**
 * Starts field_device `id` against `receivers` with its queue in `storeDir`.
 *
 * @example
 * ```ts
 * await using d = await startDevice("d1", [r.endpoint], dir.path, ["--count", "100"]);
 * ```
 */
export async function startDevice(
  id: string,
  receivers: string[],
  storeDir: string,
  args: string[] = [],
  options: { netns?: string } = {},
): Promise<RoleProcess> {
  const proc = await spawnRole("08", "field_device", [
    "--id",
    id,
    ...receivers.flatMap((r) => ["--receiver", r]),
    "--store-dir",
    storeDir,
    "--stats-interval",
    "0",
    ...FAST,
    ...args,
  ], { netns: options.netns });
  try {
    await proc.event("device_started", undefined, { timeout: 30_000 });
    return proc;
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** One stored reading, in storage order. */
export interface StoredRow {
  id: number;
  device: string;
  epoch: string;
  seq: number;
  receiver: string;
}

/** Every stored reading of `device` (all devices when omitted), in storage order. */
export function storedReadings(db: string, device?: string): StoredRow[] {
  const conn = new DatabaseSync(db, { readOnly: false, timeout: 10_000 });
  try {
    const sql = "SELECT id, device, epoch, seq, receiver FROM readings" +
      (device ? " WHERE device = ?" : "") + " ORDER BY id";
    const stmt = conn.prepare(sql);
    const rows = (device ? stmt.all(device) : stmt.all()) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: Number(r.id),
      device: String(r.device),
      epoch: String(r.epoch),
      seq: Number(r.seq),
      receiver: String(r.receiver),
    }));
  } finally {
    conn.close();
  }
}

/** The receiver's durable counters of `device`. */
export function deviceCounters(
  db: string,
  device: string,
): { stored: number; missing: number; duplicates: number } | undefined {
  const conn = new DatabaseSync(db, { timeout: 10_000 });
  try {
    const row = conn.prepare("SELECT stored, missing, duplicates FROM devices WHERE device = ?")
      .get(device) as Record<string, number> | undefined;
    return row && {
      stored: Number(row.stored),
      missing: Number(row.missing),
      duplicates: Number(row.duplicates),
    };
  } finally {
    conn.close();
  }
}

/**
 * Asserts that `device`'s readings were stored exactly once each and in seq order, and that
 * they are exactly `expected` (default `0 .. count-1`).
 */
export function assertExactlyOnceInOrder(
  db: string,
  device: string,
  expected: number[],
): void {
  const seqs = storedReadings(db, device).map((r) => r.seq);
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(
      seqs[i] > seqs[i - 1],
      `${device}: expected seqs stored in increasing order, got ${seqs[i - 1]} then ${
        seqs[i]
      } at position ${i}`,
    );
  }
  assert.equal(new Set(seqs).size, seqs.length, `${device}: a reading was stored twice`);
  assert.deepEqual(seqs, expected, `${device}: expected exactly the readings sent`);
}

/** `[0, 1, ..., n-1]`. */
export const range = (n: number, from = 0): number[] =>
  Array.from({ length: n }, (_, i) => from + i);

/** A free 127.0.0.1 TCP endpoint (bound and released: used to restart a receiver on it). */
export function freeEndpoint(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `tcp://127.0.0.1:${port}`;
}
