/**
 * 36/ZRE discovery beacons, sans-IO: the 22-octet beacon codec and a table of peers
 * heard on the LAN (seen, updated, left, expired), with the clock passed in.
 *
 * The beacon, as rfc.zeromq.org/spec:36/ZRE ("Discovery and Presence") defines it: one
 * UDP datagram of exactly 22 octets, sent at regular intervals to UDP port 5670 (ZRE-DISC,
 * assigned by IANA):
 *
 * ```text
 * +---+---+---+------+  +------+------+  +--------+
 * | Z | R | E | 0x01 |  | UUID (16)   |  | port(2)|   port in network order (big-endian)
 * +---+---+---+------+  +------+------+  +--------+
 * ```
 *
 * A non-zero port is the sender's mailbox (a TCP port on the address the datagram came
 * from); port 0 announces that the node is leaving. A node ignores its own beacons and
 * any beacon with a bad header. Beacons are unauthenticated: anyone on the LAN can send
 * one, so a peer found this way is a *claim* to authenticate afterwards (e.g. CURVE with
 * a pinned key), never a trusted identity.
 *
 * The UDP side lives in `udp_beacon.ts` (a `node:dgram` adapter).
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { BeaconPeers, decodeBeacon, encodeBeacon, newUuid } from "@lib/patterns/zre_beacon.ts";
 * const uuid = newUuid();
 * const bytes = encodeBeacon({ uuid, port: 5555 });
 * console.log(bytes.length); // 22
 * const decoded = decodeBeacon(bytes);
 * if (decoded.ok) {
 *   const peers = new BeaconPeers({ clock: new ManualClock(), expiryMs: 5000 });
 *   console.log(peers.observe(decoded.beacon, "10.0.0.7").type); // "seen"
 * }
 * ```
 *
 * @module
 */

import type { Clock } from "../async/clock.ts";
import { fromHex, toHex } from "../async/hex.ts";
import type { Random } from "../random/mod.ts";

/** Size of a 36/ZRE beacon in octets. */
export const ZRE_BEACON_SIZE = 22;
/** The beacon version this codec speaks (the 4th octet). */
export const ZRE_BEACON_VERSION = 0x01;
/** The ZRE discovery UDP port (ZRE-DISC, IANA). */
export const ZRE_DISCOVERY_PORT = 5670;
/** zyre's beacon interval (ms): the default here too. */
export const ZRE_BEACON_INTERVAL_MS = 1000;

const SIGNATURE = [0x5a, 0x52, 0x45]; // "ZRE"

/** A decoded beacon: the node's 16-octet UUID and its mailbox port (0 = leaving). */
export interface Beacon {
  /** 16 octets. */
  uuid: Uint8Array;
  /** 0..65535; 0 announces that the node is leaving. */
  port: number;
}

/** Why {@link decodeBeacon} refused a datagram. */
export type BeaconRejection = "wrong_length" | "bad_signature" | "bad_version";

/** The result of {@link decodeBeacon}: a beacon or a reason. */
export type DecodedBeacon =
  | { ok: true; beacon: Beacon }
  | { ok: false; reason: BeaconRejection; detail: string };

/**
 * Encodes a beacon: `"ZRE"`, 0x01, the 16-octet UUID, the port big-endian (22 octets).
 * Throws `RangeError` on a UUID that is not 16 octets or a port outside 0..65535.
 *
 * @example
 * ```ts
 * import { encodeBeacon } from "@lib/patterns/zre_beacon.ts";
 * const leaving = encodeBeacon({ uuid: new Uint8Array(16), port: 0 });
 * console.log(leaving.length, leaving[3]); // 22 1
 * ```
 */
export function encodeBeacon(beacon: Beacon): Uint8Array {
  if (!(beacon.uuid instanceof Uint8Array) || beacon.uuid.length !== 16) {
    throw new RangeError("uuid: expected 16 octets");
  }
  if (!Number.isInteger(beacon.port) || beacon.port < 0 || beacon.port > 0xffff) {
    throw new RangeError(`port: expected an integer in 0..65535, got ${beacon.port}`);
  }
  const out = new Uint8Array(ZRE_BEACON_SIZE);
  out.set(SIGNATURE, 0);
  out[3] = ZRE_BEACON_VERSION;
  out.set(beacon.uuid, 4);
  out[20] = beacon.port >> 8;
  out[21] = beacon.port & 0xff;
  return out;
}

/**
 * Decodes one datagram; never throws. Exactly 22 octets, the `ZRE` signature and version
 * 0x01 are required (a longer datagram is refused too: the RFC fixes the size).
 *
 * @example
 * ```ts
 * import { decodeBeacon } from "@lib/patterns/zre_beacon.ts";
 * const result = decodeBeacon(new TextEncoder().encode("hello"));
 * if (!result.ok) console.log(result.reason); // "wrong_length"
 * ```
 */
export function decodeBeacon(bytes: Uint8Array): DecodedBeacon {
  if (bytes.length !== ZRE_BEACON_SIZE) {
    return {
      ok: false,
      reason: "wrong_length",
      detail: `expected ${ZRE_BEACON_SIZE} octets, got ${bytes.length}`,
    };
  }
  if (bytes[0] !== SIGNATURE[0] || bytes[1] !== SIGNATURE[1] || bytes[2] !== SIGNATURE[2]) {
    return { ok: false, reason: "bad_signature", detail: 'expected the signature "ZRE"' };
  }
  if (bytes[3] !== ZRE_BEACON_VERSION) {
    return {
      ok: false,
      reason: "bad_version",
      detail: `expected version ${ZRE_BEACON_VERSION}, got ${bytes[3]}`,
    };
  }
  return {
    ok: true,
    beacon: { uuid: bytes.slice(4, 20), port: (bytes[20] << 8) | bytes[21] },
  };
}

/**
 * A fresh random (version 4) UUID as 16 octets, from `crypto.getRandomValues`.
 *
 * @example
 * ```ts
 * import { newUuid, uuidToHex } from "@lib/patterns/zre_beacon.ts";
 * console.log(uuidToHex(newUuid()).length); // 32
 * ```
 */
export function newUuid(): Uint8Array {
  const uuid = crypto.getRandomValues(new Uint8Array(16));
  uuid[6] = (uuid[6] & 0x0f) | 0x40; // version 4
  uuid[8] = (uuid[8] & 0x3f) | 0x80; // RFC 4122 variant
  return uuid;
}

/**
 * A UUID as 32 upper-case hex digits (zyre's `zuuid_str` form).
 *
 * @example
 * ```ts
 * import { uuidToHex } from "@lib/patterns/zre_beacon.ts";
 * console.log(uuidToHex(new Uint8Array(16).fill(0xab)).slice(0, 4)); // "ABAB"
 * ```
 */
export function uuidToHex(uuid: Uint8Array): string {
  return toHex(uuid).toUpperCase();
}

/**
 * Parses 32 hex digits (dashes allowed, either case) into 16 octets; throws `RangeError`
 * otherwise.
 *
 * @example
 * ```ts
 * import { uuidFromHex } from "@lib/patterns/zre_beacon.ts";
 * console.log(uuidFromHex("00112233-4455-6677-8899-aabbccddeeff")[15]); // 255
 * ```
 */
export function uuidFromHex(text: string): Uint8Array {
  const hex = text.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw new RangeError("uuid: expected 32 hex digits");
  }
  return fromHex(hex);
}

/**
 * The delay before the next beacon: `intervalMs` spread uniformly by ±`jitter` (a
 * fraction in [0, 1)), so nodes started together do not beacon in lockstep. The mean stays
 * `intervalMs`; the longest gap is `intervalMs * (1 + jitter)`.
 *
 * @example
 * ```ts
 * import { beaconDelay } from "@lib/patterns/zre_beacon.ts";
 * const ms = beaconDelay(1000, 0.2, () => 0.5);
 * console.log(ms); // 1000
 * ```
 */
export function beaconDelay(intervalMs: number, jitter: number, random: Random): number {
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs: expected > 0, got ${intervalMs}`);
  if (!(jitter >= 0 && jitter < 1)) {
    throw new RangeError(`jitter: expected a fraction in [0, 1), got ${jitter}`);
  }
  return intervalMs * (1 - jitter + 2 * jitter * random());
}

/** A peer heard by beacon. Times are the clock's monotonic ms. */
export interface BeaconPeer {
  /** The UUID, 32 upper-case hex digits. */
  uuid: string;
  /** Source address of its latest beacon. */
  address: string;
  /** Its announced mailbox port (never 0 in the table). */
  port: number;
  /** `tcp://address:port`. */
  endpoint: string;
  /** When its first beacon was heard. */
  firstSeen: number;
  /** When its latest beacon was heard. */
  lastSeen: number;
  /** Beacons heard from it. */
  beacons: number;
}

/** What one beacon (or one expiry pass) did to the table. */
export type BeaconPeerEvent =
  | { type: "seen"; peer: BeaconPeer }
  | { type: "refreshed"; peer: BeaconPeer }
  | { type: "updated"; peer: BeaconPeer; previous: { address: string; port: number } }
  | { type: "left"; peer: BeaconPeer }
  | { type: "expired"; peer: BeaconPeer }
  | { type: "ignored"; reason: "own" | "unknown_leaving" | "table_full"; uuid: string };

/** Options of {@link BeaconPeers}. */
export interface BeaconPeersOptions {
  /** Time source (`systemClock` in roles, `ManualClock` in tests). */
  clock: Clock;
  /** A peer silent this long is expired by {@link BeaconPeers.expire} (e.g. 5 intervals). */
  expiryMs: number;
  /** This node's UUID (octets or hex): its own beacons are ignored. */
  ownUuid?: Uint8Array | string;
  /** Most peers held (default 1024); beacons from new UUIDs beyond it are ignored. */
  maxPeers?: number;
}

/**
 * The table of peers heard by beacon: `observe` each decoded beacon with its source
 * address, call `expire` periodically (e.g. every interval). Own beacons are ignored; port
 * 0 removes the peer ("left"); a known UUID from a new address or port is "updated" (a
 * caller that authenticates peers should treat that as a new claim). Bounded by
 * `maxPeers` so a flood of spoofed UUIDs cannot grow it without limit.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { BeaconPeers, uuidFromHex } from "@lib/patterns/zre_beacon.ts";
 * const clock = new ManualClock();
 * const peers = new BeaconPeers({ clock, expiryMs: 3000 });
 * const uuid = uuidFromHex("0123456789abcdef0123456789abcdef");
 * peers.observe({ uuid, port: 7000 }, "10.0.0.2"); // seen
 * await clock.advance(3001);
 * console.log(peers.expire().map((e) => e.type)); // ["expired"]
 * ```
 */
export class BeaconPeers {
  readonly #clock: Clock;
  readonly #expiryMs: number;
  readonly #own: string | undefined;
  readonly #maxPeers: number;
  readonly #peers = new Map<string, BeaconPeer>();

  constructor(options: BeaconPeersOptions) {
    if (!(options.expiryMs > 0)) {
      throw new RangeError(`expiryMs: expected > 0, got ${options.expiryMs}`);
    }
    const maxPeers = options.maxPeers ?? 1024;
    if (!Number.isInteger(maxPeers) || maxPeers < 1) {
      throw new RangeError(`maxPeers: expected an integer >= 1, got ${maxPeers}`);
    }
    this.#clock = options.clock;
    this.#expiryMs = options.expiryMs;
    this.#maxPeers = maxPeers;
    const own = options.ownUuid;
    this.#own = own === undefined
      ? undefined
      : typeof own === "string"
      ? uuidToHex(uuidFromHex(own))
      : uuidToHex(own);
  }

  /** Peers held now. */
  get size(): number {
    return this.#peers.size;
  }

  /** The peer with this UUID (hex, any case), if held. */
  get(uuid: string): BeaconPeer | undefined {
    return this.#peers.get(uuid.toUpperCase());
  }

  /** All peers, ordered by UUID (copies). */
  peers(): BeaconPeer[] {
    return [...this.#peers.values()]
      .sort((a, b) => a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0)
      .map((p) => ({ ...p }));
  }

  /** Forgets a peer (e.g. refused after authentication); true when it was held. */
  remove(uuid: string): boolean {
    return this.#peers.delete(uuid.toUpperCase());
  }

  /** Applies one decoded beacon heard from `address`; returns what it did. */
  observe(beacon: Beacon, address: string): BeaconPeerEvent {
    const uuid = uuidToHex(beacon.uuid);
    if (uuid === this.#own) return { type: "ignored", reason: "own", uuid };
    const now = this.#clock.now();
    const known = this.#peers.get(uuid);
    if (beacon.port === 0) {
      if (!known) return { type: "ignored", reason: "unknown_leaving", uuid };
      this.#peers.delete(uuid);
      return { type: "left", peer: { ...known, lastSeen: now } };
    }
    if (!known) {
      if (this.#peers.size >= this.#maxPeers) {
        return { type: "ignored", reason: "table_full", uuid };
      }
      const peer: BeaconPeer = {
        uuid,
        address,
        port: beacon.port,
        endpoint: endpointOf(address, beacon.port),
        firstSeen: now,
        lastSeen: now,
        beacons: 1,
      };
      this.#peers.set(uuid, peer);
      return { type: "seen", peer: { ...peer } };
    }
    known.lastSeen = now;
    known.beacons++;
    if (known.address !== address || known.port !== beacon.port) {
      const previous = { address: known.address, port: known.port };
      known.address = address;
      known.port = beacon.port;
      known.endpoint = endpointOf(address, beacon.port);
      return { type: "updated", peer: { ...known }, previous };
    }
    return { type: "refreshed", peer: { ...known } };
  }

  /** Removes and returns every peer silent for longer than `expiryMs`. */
  expire(): BeaconPeerEvent[] {
    const now = this.#clock.now();
    const out: BeaconPeerEvent[] = [];
    for (const [uuid, peer] of this.#peers) {
      if (now - peer.lastSeen > this.#expiryMs) {
        this.#peers.delete(uuid);
        out.push({ type: "expired", peer: { ...peer } });
      }
    }
    return out;
  }
}

function endpointOf(address: string, port: number): string {
  return address.includes(":") ? `tcp://[${address}]:${port}` : `tcp://${address}:${port}`;
}
