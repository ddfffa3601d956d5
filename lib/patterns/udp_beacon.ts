/**
 * A UDP broadcast beacon over `node:dgram` (works without `--unstable-net`; needs
 * `--allow-net`): binds a port with `SO_REUSEADDR` (several nodes on one host share it),
 * broadcasts a payload every interval with jitter, and delivers every datagram received
 * with its source address. It knows nothing of the payload: pair it with
 * `zre_beacon.ts` for 36/ZRE.
 *
 * Broadcast addresses: `255.255.255.255` (the default, as zyre) leaves by the interface of
 * the default route; a subnet's directed broadcast (e.g. `10.77.0.255`) reaches that
 * subnet; `127.255.255.255` reaches every socket bound to the port on this host (the
 * loopback "LAN" used by demos and tests without namespaces). A unicast address also
 * works (one receiver).
 *
 * @example
 * ```ts
 * import { UdpBeacon } from "@lib/patterns/udp_beacon.ts";
 * import { encodeBeacon, newUuid } from "@lib/patterns/zre_beacon.ts";
 * const beacon = await UdpBeacon.open({
 *   port: 0, // ephemeral here; 5670 for ZRE
 *   broadcastAddress: "127.255.255.255",
 *   intervalMs: 1000,
 *   onDatagram: (bytes, from) => console.log(bytes.length, from.address),
 * });
 * beacon.publish(encodeBeacon({ uuid: newUuid(), port: 5555 }));
 * await beacon.close();
 * ```
 *
 * @module
 */

import dgram from "node:dgram";
import { type Clock, systemClock, type TimerHandle } from "../async/clock.ts";
import type { Random } from "../random/mod.ts";
import { beaconDelay } from "./zre_beacon.ts";

/** Where a datagram came from. */
export interface DatagramSource {
  address: string;
  port: number;
}

/** Options of {@link UdpBeacon.open}. */
export interface UdpBeaconOptions {
  /** UDP port to bind and to broadcast to (default 5670; 0 = an ephemeral one, tests). */
  port?: number;
  /** Local address to bind (default `0.0.0.0`: receives broadcasts). */
  bindAddress?: string;
  /** Where beacons go (default `255.255.255.255`). */
  broadcastAddress?: string;
  /** Mean time between beacons, ms (default 1000). */
  intervalMs?: number;
  /** Spread of each interval, a fraction in [0, 1) (default 0.1: ±10 %). */
  jitter?: number;
  /** Randomness for the jitter (default `Math.random`). */
  random?: Random;
  /** Timers (default `systemClock`). */
  clock?: Clock;
  /** `SO_REUSEADDR` (default true: several nodes per host). */
  reuseAddr?: boolean;
  /** Called for every datagram received (the caller decodes and validates it). */
  onDatagram: (bytes: Uint8Array, from: DatagramSource) => void;
  /** Called on a socket or send error (default: ignored; counted in `stats`). */
  onError?: (error: Error) => void;
}

/** Counters of a {@link UdpBeacon}. */
export interface UdpBeaconStats {
  sent: number;
  received: number;
  sendErrors: number;
}

/**
 * One UDP socket that beacons and listens. `publish(bytes)` starts (or changes) the
 * periodic beacon, the first one at once; `silence()` stops it; `send()` sends one
 * datagram (e.g. a farewell); `close()` releases the port.
 */
export class UdpBeacon {
  readonly #socket: dgram.Socket;
  readonly #options: UdpBeaconOptions;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #intervalMs: number;
  readonly #jitter: number;
  readonly #broadcast: string;
  readonly #port: number;
  #payloads: Uint8Array[] | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;
  readonly #stats: UdpBeaconStats = { sent: 0, received: 0, sendErrors: 0 };

  private constructor(socket: dgram.Socket, options: UdpBeaconOptions, port: number) {
    this.#socket = socket;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#jitter = options.jitter ?? 0.1;
    this.#broadcast = options.broadcastAddress ?? "255.255.255.255";
    this.#port = port;
    beaconDelay(this.#intervalMs, this.#jitter, () => 0); // validates both
  }

  /** Binds the socket (rejects on e.g. a port in use without `reuseAddr`). */
  static open(options: UdpBeaconOptions): Promise<UdpBeacon> {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: options.reuseAddr ?? true });
    return new Promise((resolve, reject) => {
      const onBindError = (error: Error) => {
        try {
          socket.close();
        } catch { /* already closed */ }
        reject(error);
      };
      socket.once("error", onBindError);
      socket.bind(options.port ?? 5670, options.bindAddress ?? "0.0.0.0", () => {
        socket.off("error", onBindError);
        let beacon: UdpBeacon;
        try {
          socket.setBroadcast(true);
          beacon = new UdpBeacon(socket, options, socket.address().port);
        } catch (error) {
          onBindError(error as Error);
          return;
        }
        socket.on("error", (error) => options.onError?.(error));
        socket.on("message", (msg, rinfo) => {
          beacon.#stats.received++;
          options.onDatagram(
            new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength),
            { address: rinfo.address, port: rinfo.port },
          );
        });
        resolve(beacon);
      });
    });
  }

  /** The bound UDP port (the real one when 0 was asked). */
  get port(): number {
    return this.#port;
  }

  /** The broadcast address beacons go to. */
  get broadcastAddress(): string {
    return this.#broadcast;
  }

  /** Counters (a copy). */
  stats(): UdpBeaconStats {
    return { ...this.#stats };
  }

  /**
   * Starts beaconing `payload` (first one now, then every interval ± jitter). Several
   * payloads are sent one after the other at each beat (e.g. a beacon and an extension).
   */
  publish(payload: Uint8Array | readonly Uint8Array[]): void {
    if (this.#closed) throw new Error("UdpBeacon is closed");
    this.#payloads = (payload instanceof Uint8Array ? [payload] : payload).map((p) => p.slice());
    this.#timer?.cancel();
    this.#tick();
  }

  /** Stops the periodic beacon (the socket still receives). */
  silence(): void {
    this.#payloads = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Sends one datagram (default: to the broadcast address and the bound port). */
  send(
    bytes: Uint8Array,
    address: string = this.#broadcast,
    port: number = this.#port,
  ): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      try {
        this.#socket.send(bytes, port, address, (error) => {
          if (error) {
            this.#stats.sendErrors++;
            this.#options.onError?.(error);
            resolve(false);
          } else {
            this.#stats.sent++;
            resolve(true);
          }
        });
      } catch (error) {
        this.#stats.sendErrors++;
        this.#options.onError?.(error as Error);
        resolve(false);
      }
    });
  }

  /** Stops beaconing and closes the socket (idempotent). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.silence();
    this.#closed = true;
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  #tick(): void {
    const payloads = this.#payloads;
    if (!payloads || this.#closed) return;
    for (const payload of payloads) void this.send(payload);
    this.#timer = this.#clock.setTimer(
      beaconDelay(this.#intervalMs, this.#jitter, this.#random),
      () => this.#tick(),
    );
  }
}
