/**
 * The Majordomo broker (7/MDP 0.1 + 8/MMI), sans-IO: one ROUTER's messages in, frames out
 * through `port.send` (the routing id first). Per service: a bounded FIFO of waiting
 * requests (each with a deadline) and a `WorkerQueue` (LRU ready list, heartbeat liveness
 * and expiry) of the workers that registered it.
 *
 * @module
 */

import { type Clock, toHex } from "@lib/async/mod.ts";
import {
  decodeClientMessage,
  decodeWorkerMessage,
  encodeClientReply,
  encodeWorker,
  errorReplyBody,
  type Frames,
  InFlight,
  MMI_PREFIX,
  MmiStatus,
  type PatternPort,
  splitRouterMessage,
  WorkerQueue,
} from "@lib/patterns/mod.ts";

/** Options of {@linkcode MajordomoBroker}. */
export interface BrokerOptions {
  /** Heartbeat interval both ways (7/MDP default 2500 ms). */
  heartbeatIntervalMs: number;
  /** Silent intervals before a worker is dead (default 3). */
  liveness: number;
  /** Waiting requests per service; one more gets a `503` error reply. */
  queueSize: number;
  /** A request that no worker took within this long gets a `504` error reply. */
  requestTimeoutMs: number;
  /** Services known at once (a request for one more gets `503`). */
  maxServices: number;
  /** Workers known at once (a READY from one more gets DISCONNECT). */
  maxWorkers: number;
}

interface Waiting {
  client: Uint8Array;
  body: Frames;
  deadline: number;
}

interface WorkerData {
  address: Uint8Array;
  service: string;
}

interface Service {
  name: string;
  // A ring would be O(1); a bounded array with a head index is as good here.
  queue: Waiting[];
  head: number;
  workers: WorkerQueue<string, number, WorkerData>;
  requests: number;
  replies: number;
  refused: number;
  expired: number;
}

/** One row of the live table. */
export interface ServiceRow {
  service: string;
  workers: number;
  ready: number;
  busy: number;
  queued: number;
  requests: number;
  replies: number;
  refused: number;
  expired: number;
}

/** Broker counters. */
export interface BrokerStats {
  services: number;
  workers: number;
  queued: number;
  busy: number;
  requests: number;
  replies: number;
  mmi: number;
  refused: number;
  requestsExpired: number;
  workersJoined: number;
  workersExpired: number;
  workersLeft: number;
  disconnectsSent: number;
  badMessages: number;
}

/**
 * A Majordomo broker core.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { MajordomoBroker } from "./broker.ts";
 * const sent: Uint8Array[][] = [];
 * const broker = new MajordomoBroker(
 *   { clock: new ManualClock(), log: createMemoryLogger(), send: (f) => void sent.push(f) },
 *   { heartbeatIntervalMs: 2500, liveness: 3, queueSize: 100, requestTimeoutMs: 10_000, maxServices: 100, maxWorkers: 100 },
 * );
 * broker.tick(0);
 * ```
 */
export class MajordomoBroker {
  readonly #port: PatternPort;
  readonly #clock: Clock;
  readonly #options: BrokerOptions;
  #services = new Map<string, Service>();
  // Worker hex id → its service.
  #workers = new Map<string, string>();
  #jobSeq = 0;
  // Requests held by workers: what a drain waits for.
  #held = new InFlight<number>();
  #accepting = true;
  #counts = {
    requests: 0,
    replies: 0,
    mmi: 0,
    refused: 0,
    requestsExpired: 0,
    workersJoined: 0,
    workersExpired: 0,
    workersLeft: 0,
    disconnectsSent: 0,
    badMessages: 0,
  };

  constructor(port: PatternPort, options: BrokerOptions) {
    this.#port = port;
    this.#clock = port.clock;
    this.#options = options;
  }

  /**
   * One message as the ROUTER received it. Throws `BadMessageError` for malformed input
   * (after sending DISCONNECT to a worker that sent it).
   */
  onMessage(frames: Frames): void {
    let split;
    try {
      split = splitRouterMessage(frames);
    } catch (error) {
      this.#counts.badMessages++;
      throw error;
    }
    if (split.kind === "client") this.#fromClient(split.sender, split.rest);
    else this.#fromWorker(split.sender, split.rest);
  }

  #fromClient(client: Uint8Array, rest: Frames): void {
    let message;
    try {
      message = decodeClientMessage(rest);
    } catch (error) {
      this.#counts.badMessages++;
      throw error;
    }
    const { service: name, body } = message;
    if (name.startsWith(MMI_PREFIX)) return this.#mmi(client, name, body);
    if (!this.#accepting) return this.#refuse(client, name, "503", "broker stopping");
    let service = this.#services.get(name);
    if (!service) {
      if (this.#services.size >= this.#options.maxServices) {
        return this.#refuse(
          client,
          name,
          "503",
          `too many services (${this.#options.maxServices})`,
        );
      }
      service = this.#newService(name);
    }
    const queued = service.queue.length - service.head;
    if (queued >= this.#options.queueSize) {
      service.refused++;
      return this.#refuse(client, name, "503", `service queue full (${queued} waiting)`);
    }
    this.#counts.requests++;
    service.requests++;
    service.queue.push({
      client,
      body,
      deadline: this.#clock.now() + this.#options.requestTimeoutMs,
    });
    this.#dispatch(service);
  }

  #mmi(client: Uint8Array, name: string, body: Frames): void {
    this.#counts.mmi++;
    let status: string = MmiStatus.NOT_IMPLEMENTED;
    if (name === "mmi.service") {
      const asked = new TextDecoder().decode(body[body.length - 1]);
      status = (this.#services.get(asked)?.workers.size ?? 0) > 0
        ? MmiStatus.FOUND
        : MmiStatus.NOT_FOUND;
    }
    // As the Guide: the last body frame is replaced by the status.
    this.#port.send(encodeClientReply(client, name, [...body.slice(0, -1), status]));
  }

  #refuse(client: Uint8Array, service: string, code: "503" | "504", text: string): void {
    this.#counts.refused += code === "503" ? 1 : 0;
    this.#port.send(encodeClientReply(client, service, errorReplyBody(code, text)));
  }

  #fromWorker(address: Uint8Array, rest: Frames): void {
    const key = toHex(address);
    const known = this.#workers.get(key);
    let message;
    try {
      message = decodeWorkerMessage(rest);
    } catch (error) {
      this.#counts.badMessages++;
      // Treat the peer as invalid (7/MDP): forget it and tell it so.
      this.#disconnect(address, key, "bad_message");
      throw error;
    }
    const service = known === undefined ? undefined : this.#services.get(known)!;
    switch (message.command) {
      case "READY": {
        if (service) return this.#protocolError(address, key, "READY from a registered worker");
        if (message.service.startsWith(MMI_PREFIX)) {
          return this.#protocolError(
            address,
            key,
            `READY for reserved service "${message.service}"`,
          );
        }
        if (this.#workers.size >= this.#options.maxWorkers) {
          return this.#protocolError(
            address,
            key,
            `worker table full (${this.#options.maxWorkers})`,
          );
        }
        let target = this.#services.get(message.service);
        if (!target) {
          if (this.#services.size >= this.#options.maxServices) {
            return this.#protocolError(
              address,
              key,
              `too many services (${this.#options.maxServices})`,
            );
          }
          target = this.#newService(message.service);
        }
        target.workers.ready(key, { address, service: target.name });
        target.workers.heard(key, { heartbeat: true }); // every MDP worker heartbeats
        this.#workers.set(key, target.name);
        this.#counts.workersJoined++;
        this.#port.log.info("worker_ready", { worker: key, service: target.name });
        this.#dispatch(target);
        return;
      }
      case "REPLY": {
        if (!service) return this.#protocolError(address, key, "REPLY from an unknown worker");
        const job = service.workers.get(key)!.jobs[0];
        if (job === undefined) {
          return this.#protocolError(address, key, "REPLY from a worker holding no request");
        }
        service.workers.done(key, job);
        this.#held.done(job);
        service.replies++;
        this.#counts.replies++;
        this.#port.send(encodeClientReply(message.client, service.name, message.body));
        this.#dispatch(service);
        return;
      }
      case "HEARTBEAT":
        if (!service) return this.#protocolError(address, key, "HEARTBEAT from an unknown worker");
        service.workers.heard(key, { heartbeat: true });
        return;
      case "DISCONNECT":
        if (service) {
          const info = service.workers.remove(key)!;
          for (const job of info.jobs) this.#held.done(job);
          this.#workers.delete(key);
          this.#counts.workersLeft++;
          this.#port.log.info("worker_left", {
            worker: key,
            service: service.name,
            lost_requests: info.jobs.length,
          });
        }
        return;
      case "REQUEST":
        return this.#protocolError(address, key, "REQUEST from a worker");
    }
  }

  /** A valid but unexpected command: DISCONNECT, forget the worker (7/MDP). */
  #protocolError(address: Uint8Array, key: string, what: string): void {
    this.#port.log.limited("warn", "protocol_error", { worker: key, error: what }, what);
    this.#disconnect(address, key, "protocol_error");
  }

  #disconnect(address: Uint8Array, key: string, reason: string): void {
    const name = this.#workers.get(key);
    if (name !== undefined) {
      const info = this.#services.get(name)!.workers.remove(key)!;
      for (const job of info.jobs) this.#held.done(job);
      this.#workers.delete(key);
      this.#port.log.info("worker_dropped", { worker: key, service: name, reason });
    }
    this.#counts.disconnectsSent++;
    this.#port.send([address, ...encodeWorker({ command: "DISCONNECT" })]);
  }

  #newService(name: string): Service {
    const service: Service = {
      name,
      queue: [],
      head: 0,
      workers: new WorkerQueue({
        clock: this.#clock,
        heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
        liveness: this.#options.liveness,
        maxWorkers: this.#options.maxWorkers,
      }),
      requests: 0,
      replies: 0,
      refused: 0,
      expired: 0,
    };
    this.#services.set(name, service);
    return service;
  }

  /** Hands waiting requests to ready workers, least recently used first. */
  #dispatch(service: Service): void {
    while (service.head < service.queue.length && service.workers.readyCount > 0) {
      const key = service.workers.next()!;
      const request = service.queue[service.head];
      service.queue[service.head++] = undefined as unknown as Waiting;
      const job = ++this.#jobSeq;
      service.workers.assign(key, job);
      this.#held.add(job);
      const { address } = service.workers.get(key)!.data;
      this.#port.send([
        address,
        ...encodeWorker({ command: "REQUEST", client: request.client, body: request.body }),
      ]);
    }
    this.#compact(service);
  }

  #compact(service: Service): void {
    if (service.head > 64 && service.head * 2 > service.queue.length) {
      service.queue = service.queue.slice(service.head);
      service.head = 0;
    }
  }

  /**
   * Time-driven work: expires silent workers, heartbeats the live ones once per interval,
   * answers `504` to requests past their deadline, forgets idle services.
   */
  tick(now: number): void {
    for (const service of [...this.#services.values()]) {
      for (const { worker, reason } of service.workers.tick(now)) {
        this.#workers.delete(worker.key);
        for (const job of worker.jobs) this.#held.done(job);
        this.#counts.workersExpired++;
        this.#port.log.warn("worker_expired", {
          worker: worker.key,
          service: service.name,
          reason,
          lost_requests: worker.jobs.length,
        });
      }
      for (const worker of service.workers.heartbeatDue(now)) {
        this.#port.send([worker.data.address, ...encodeWorker({ command: "HEARTBEAT" })]);
      }
      while (service.head < service.queue.length && service.queue[service.head].deadline <= now) {
        const request = service.queue[service.head];
        service.queue[service.head++] = undefined as unknown as Waiting;
        service.expired++;
        this.#counts.requestsExpired++;
        this.#refuse(
          request.client,
          service.name,
          "504",
          `no worker for "${service.name}" within ${this.#options.requestTimeoutMs} ms`,
        );
      }
      this.#compact(service);
      if (service.workers.size === 0 && service.head === service.queue.length) {
        this.#services.delete(service.name);
      }
    }
  }

  /** Stop taking requests: new ones get `503 broker stopping`. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /** True when no worker holds a request (stopping now loses no reply). */
  settled(): boolean {
    return this.#held.settled();
  }

  /** Resolves when no worker holds a request (a reply came, or the worker is gone). */
  whenSettled(): Promise<void> {
    return this.#held.whenSettled();
  }

  /**
   * Shutdown: `503` to every waiting request, DISCONNECT to every worker (they reconnect
   * and re-register with the next broker). Returns how many requests were refused.
   */
  abandon(): number {
    let refused = 0;
    for (const service of this.#services.values()) {
      for (let i = service.head; i < service.queue.length; i++) {
        this.#refuse(service.queue[i].client, service.name, "503", "broker stopping");
        refused++;
      }
      service.queue = [];
      service.head = 0;
    }
    for (const [key, name] of [...this.#workers]) {
      const info = this.#services.get(name)!.workers.get(key)!;
      this.#disconnect(info.data.address, key, "broker_stopping");
    }
    return refused;
  }

  /** The live table, one row per service, by name. */
  table(): ServiceRow[] {
    return [...this.#services.values()].sort((a, b) => a.name < b.name ? -1 : 1).map((s) => {
      const w = s.workers.stats();
      return {
        service: s.name,
        workers: w.workers,
        ready: w.ready,
        busy: w.busy,
        queued: s.queue.length - s.head,
        requests: s.requests,
        replies: s.replies,
        refused: s.refused,
        expired: s.expired,
      };
    });
  }

  /** Counters and gauges. */
  stats(): BrokerStats {
    let queued = 0;
    let busy = 0;
    for (const s of this.#services.values()) {
      queued += s.queue.length - s.head;
      busy += s.workers.stats().busy;
    }
    return {
      services: this.#services.size,
      workers: this.#workers.size,
      queued,
      busy,
      ...this.#counts,
    };
  }
}
