/**
 * The network scanner's view, sans-IO: UDP datagrams in (ZRE beacons and key
 * announcements), a table of devices out, each with its endpoint, first/last seen, trust
 * state and latest status. Time comes from an injected clock; the socket loop and the
 * CURVE queries stay in the role.
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import { RecentMap } from "@lib/patterns/recent_ids.ts";
import { type BeaconPeer, BeaconPeers, uuidToHex } from "@lib/patterns/zre_beacon.ts";
import { fingerprint } from "@lib/zmq/zcert.ts";
import { classifyDatagram } from "./protocol.ts";
import type { TrustBook, TrustState } from "./trust.ts";

/** The outcome of the latest status query of a device. */
export type QueryOutcome =
  | { ok: true; at: number; name: string; uptimeMs: number; readings: Record<string, number> }
  | { ok: false; at: number; error: string };

/** One row of the table. Times are the clock's ms. */
export interface DeviceRow {
  uuid: string;
  endpoint: string;
  firstSeen: number;
  lastSeen: number;
  beacons: number;
  trust: TrustState;
  /** Fingerprint of the key used (trusted/tofu) or announced. */
  fingerprint?: string;
  /** The key to reach it with (trusted/tofu only). */
  key?: string;
  last?: QueryOutcome;
}

/** What happened, for logs and `--json`. */
export type ScanEvent =
  | { type: "device_seen"; row: DeviceRow }
  | { type: "device_updated"; row: DeviceRow; previous: string }
  | { type: "device_left"; row: DeviceRow }
  | { type: "device_expired"; row: DeviceRow }
  | { type: "trust"; row: DeviceRow; learned: boolean }
  | { type: "key_changed"; row: DeviceRow; expected: string; announced: string }
  | { type: "bad_datagram"; reason: string; address: string }
  /** A new UUID not listed: the table holds `maxDevices` already (a flood of spoofed UUIDs). */
  | { type: "table_full"; uuid: string; address: string }
  | { type: "own" };

/** Options of {@link DeviceTable}. */
export interface DeviceTableOptions {
  clock: Clock;
  trust: TrustBook;
  /** A device silent this long expires. */
  expiryMs: number;
  /** Most devices (and announced keys) held (default 1024). */
  maxDevices?: number;
  /** This node's own UUID, if it beacons too (its beacons are ignored). */
  ownUuid?: Uint8Array;
}

/**
 * The devices heard on the LAN and what the scanner thinks of them.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { encodeBeacon, newUuid } from "@lib/patterns/zre_beacon.ts";
 * import { DeviceTable } from "./device_table.ts";
 * import { TrustBook } from "./trust.ts";
 * const table = new DeviceTable({
 *   clock: new ManualClock(), trust: new TrustBook({ tofu: false }), expiryMs: 5000,
 * });
 * const events = table.onDatagram(encodeBeacon({ uuid: newUuid(), port: 7000 }), "10.0.0.2");
 * console.log(events[0].type, table.rows()[0].trust); // device_seen untrusted
 * ```
 */
export class DeviceTable {
  readonly #clock: Clock;
  readonly #trust: TrustBook;
  readonly #peers: BeaconPeers;
  readonly #announced: RecentMap<string, string>;
  readonly #rows = new Map<string, DeviceRow>();

  constructor(options: DeviceTableOptions) {
    const max = options.maxDevices ?? 1024;
    this.#clock = options.clock;
    this.#trust = options.trust;
    this.#peers = new BeaconPeers({
      clock: options.clock,
      expiryMs: options.expiryMs,
      ownUuid: options.ownUuid,
      maxPeers: max,
    });
    this.#announced = new RecentMap({ maxSize: max });
  }

  /** Rows sorted by UUID (copies). */
  rows(): DeviceRow[] {
    return [...this.#rows.values()].sort((a, b) => a.uuid < b.uuid ? -1 : 1).map((r) => ({
      ...r,
    }));
  }

  /** One row (a copy). */
  get(uuid: string): DeviceRow | undefined {
    const row = this.#rows.get(uuid.toUpperCase());
    return row && { ...row };
  }

  /** Applies one datagram from `address`; returns what changed. */
  onDatagram(bytes: Uint8Array, address: string): ScanEvent[] {
    const datagram = classifyDatagram(bytes);
    if (datagram.kind === "bad") {
      return [{ type: "bad_datagram", reason: datagram.reason, address }];
    }
    if (datagram.kind === "key") {
      const uuid = uuidToHex(datagram.announcement.uuid);
      this.#announced.delete(uuid); // re-set: keep the latest one
      this.#announced.set(uuid, datagram.announcement.publicKey);
      const row = this.#rows.get(uuid);
      return row ? this.#assess(row) : [];
    }
    const event = this.#peers.observe(datagram.beacon, address);
    switch (event.type) {
      case "ignored":
        return event.reason === "own"
          ? [{ type: "own" }]
          : event.reason === "table_full"
          ? [{ type: "table_full", uuid: event.uuid, address }]
          : [];
      case "seen": {
        const row: DeviceRow = {
          ...rowOf(event.peer),
          trust: "untrusted",
        };
        this.#rows.set(row.uuid, row);
        const assessed = this.#assess(row, true);
        return [{ type: "device_seen", row: { ...row } }, ...assessed];
      }
      case "refreshed": {
        const row = this.#rows.get(event.peer.uuid);
        if (!row) return [];
        Object.assign(row, { lastSeen: event.peer.lastSeen, beacons: event.peer.beacons });
        return [];
      }
      case "updated": {
        const row = this.#rows.get(event.peer.uuid);
        if (!row) return [];
        const previous = row.endpoint;
        Object.assign(row, rowOf(event.peer), { last: undefined });
        return [{ type: "device_updated", row: { ...row }, previous }];
      }
      case "left": {
        const row = this.#rows.get(event.peer.uuid);
        this.#rows.delete(event.peer.uuid);
        return row ? [{ type: "device_left", row: { ...row, lastSeen: event.peer.lastSeen } }] : [];
      }
      default:
        return [];
    }
  }

  /** Expires silent devices. */
  expire(): ScanEvent[] {
    const out: ScanEvent[] = [];
    for (const event of this.#peers.expire()) {
      if (event.type !== "expired") continue;
      const row = this.#rows.get(event.peer.uuid);
      this.#rows.delete(event.peer.uuid);
      if (row) out.push({ type: "device_expired", row: { ...row } });
    }
    return out;
  }

  /** Re-decides every device (e.g. after the trust directory changed). */
  reassess(): ScanEvent[] {
    return [...this.#rows.values()].flatMap((row) => this.#assess(row));
  }

  /** Records a status query's outcome (ignored if the device left meanwhile). */
  recordQuery(uuid: string, endpoint: string, outcome: QueryOutcome): void {
    const row = this.#rows.get(uuid);
    if (row && row.endpoint === endpoint) row.last = outcome;
  }

  /** Devices a query may go to now: trusted or TOFU, with a key. */
  queryable(): DeviceRow[] {
    return this.rows().filter((r) =>
      (r.trust === "trusted" || r.trust === "tofu") && r.key !== undefined
    );
  }

  /** The table as text lines (`now` = the clock's ms). */
  render(now: number = this.#clock.now()): string[] {
    const rows = this.rows();
    const lines = [
      `devices: ${rows.length}  ` +
      `trusted ${rows.filter((r) => r.trust === "trusted").length}  ` +
      `tofu ${rows.filter((r) => r.trust === "tofu").length}  ` +
      `untrusted ${rows.filter((r) => r.trust === "untrusted").length}  ` +
      `key_changed ${rows.filter((r) => r.trust === "key_changed").length}`,
      pad(["UUID", "ENDPOINT", "FIRST", "LAST", "TRUST", "KEY", "STATUS"]),
    ];
    for (const r of rows) {
      lines.push(pad([
        r.uuid,
        r.endpoint,
        `${secs(now - r.firstSeen)} ago`,
        `${secs(now - r.lastSeen)} ago`,
        r.trust,
        r.fingerprint ?? "-",
        statusText(r),
      ]));
    }
    return lines;
  }

  #assess(row: DeviceRow, fresh = false): ScanEvent[] {
    const announced = this.#announced.get(row.uuid);
    const decision = this.#trust.assess(row.uuid, announced);
    const before = row.trust;
    row.trust = decision.state;
    row.key = decision.key;
    row.fingerprint = decision.key
      ? fingerprint(decision.key)
      : announced
      ? fingerprint(announced)
      : undefined;
    if (decision.state === "key_changed" && before !== "key_changed") {
      row.last = undefined;
      return [{
        type: "key_changed",
        row: { ...row },
        expected: decision.expected!,
        announced: decision.announced!,
      }];
    }
    if (fresh || before !== decision.state) {
      return [{ type: "trust", row: { ...row }, learned: decision.learned === true }];
    }
    return [];
  }
}

function rowOf(peer: BeaconPeer) {
  return {
    uuid: peer.uuid,
    endpoint: peer.endpoint,
    firstSeen: peer.firstSeen,
    lastSeen: peer.lastSeen,
    beacons: peer.beacons,
  };
}

function secs(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

function statusText(row: DeviceRow): string {
  if (row.trust === "untrusted") return "refused: no pinned key";
  if (row.trust === "key_changed") return "REFUSED: KEY CHANGED";
  if (!row.last) return "querying";
  if (!row.last.ok) return `failed: ${row.last.error}`;
  const readings = Object.entries(row.last.readings).map(([k, v]) => `${k}=${v}`).join(" ");
  return `ok ${row.last.name} up ${secs(row.last.uptimeMs)} ${readings}`;
}

const WIDTHS = [32, 22, 8, 8, 11, 16];

function pad(cells: string[]): string {
  return cells.map((c, i) => i < WIDTHS.length ? c.padEnd(WIDTHS[i]) : c).join("  ");
}
