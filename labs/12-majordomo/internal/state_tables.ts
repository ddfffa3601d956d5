/**
 * Lab 12's state machines as tables (`@lib/patterns` FSM tables): the broker's view of one
 * worker, and the worker's own connection. The code is not driven by these tables; the
 * tests drive `MajordomoBroker` and `MdpWorker` through every cell and check that the code
 * does what the table says, and SUMMARY.md prints them with `tableMarkdown`.
 *
 * @module
 */

import type { FsmTable } from "@lib/patterns/mod.ts";

/** The broker's view of one routing id. */
export type BrokerWorkerState = "unknown" | "ready" | "busy";
/** What a worker sends (or what happens to it). */
export type BrokerWorkerEvent =
  | "READY"
  | "dispatch"
  | "REPLY"
  | "HEARTBEAT"
  | "DISCONNECT"
  | "silence"
  | "malformed";
/** What the broker does. */
export type BrokerWorkerAction =
  | "register"
  | "send_disconnect"
  | "send_request"
  | "forward_reply"
  | "refresh"
  | "forget";

/**
 * 7/MDP from the broker's side: any valid but unexpected command gets DISCONNECT and the
 * worker is forgotten; a malformed one too (the peer is treated as invalid).
 *
 * @example
 * ```ts
 * import { step } from "@lib/patterns/mod.ts";
 * import { BROKER_WORKER_TABLE } from "./state_tables.ts";
 * step(BROKER_WORKER_TABLE, "busy", "REPLY"); // next: "ready", action: "forward_reply"
 * ```
 */
export const BROKER_WORKER_TABLE: FsmTable<
  BrokerWorkerState,
  BrokerWorkerEvent,
  BrokerWorkerAction
> = {
  states: ["unknown", "ready", "busy"],
  events: ["READY", "dispatch", "REPLY", "HEARTBEAT", "DISCONNECT", "silence", "malformed"],
  initial: "unknown",
  cells: {
    unknown: {
      READY: [
        { next: "ready", action: "register", when: "valid service, room in the tables" },
        { next: "unknown", action: "send_disconnect" },
      ],
      REPLY: { next: "unknown", action: "send_disconnect" },
      HEARTBEAT: { next: "unknown", action: "send_disconnect" },
      DISCONNECT: { next: "unknown" },
      malformed: { next: "unknown", action: "send_disconnect" },
    },
    ready: {
      READY: { next: "unknown", action: "send_disconnect" },
      dispatch: { next: "busy", action: "send_request" },
      REPLY: { next: "unknown", action: "send_disconnect" },
      HEARTBEAT: { next: "ready", action: "refresh" },
      DISCONNECT: { next: "unknown", action: "forget" },
      silence: { next: "unknown", action: "forget" },
      malformed: { next: "unknown", action: "send_disconnect" },
    },
    busy: {
      READY: { next: "unknown", action: "send_disconnect" },
      REPLY: { next: "ready", action: "forward_reply" },
      HEARTBEAT: { next: "busy", action: "refresh" },
      DISCONNECT: { next: "unknown", action: "forget" },
      silence: { next: "unknown", action: "forget" },
      malformed: { next: "unknown", action: "send_disconnect" },
    },
  },
};

/** The worker's connection (`MdpWorker.state`). */
export type WorkerConnState = "idle" | "connected" | "waiting" | "stopped";
/** What happens to the worker. */
export type WorkerConnEvent =
  | "start"
  | "REQUEST"
  | "HEARTBEAT"
  | "DISCONNECT"
  | "silence"
  | "retry_due"
  | "restart"
  | "stop";
/** What the worker does. */
export type WorkerConnAction =
  | "connect_send_ready"
  | "hand_to_app"
  | "refresh"
  | "drop_socket_backoff"
  | "send_disconnect_reconnect"
  | "send_disconnect";

/**
 * 7/MDP from the worker's side (`MdpWorker` in `@lib/patterns`).
 *
 * @example
 * ```ts
 * import { step } from "@lib/patterns/mod.ts";
 * import { WORKER_CONN_TABLE } from "./state_tables.ts";
 * step(WORKER_CONN_TABLE, "connected", "DISCONNECT"); // next: "waiting"
 * ```
 */
export const WORKER_CONN_TABLE: FsmTable<WorkerConnState, WorkerConnEvent, WorkerConnAction> = {
  states: ["idle", "connected", "waiting", "stopped"],
  events: [
    "start",
    "REQUEST",
    "HEARTBEAT",
    "DISCONNECT",
    "silence",
    "retry_due",
    "restart",
    "stop",
  ],
  initial: "idle",
  cells: {
    idle: {
      start: { next: "connected", action: "connect_send_ready" },
      stop: { next: "stopped" },
    },
    connected: {
      REQUEST: { next: "connected", action: "hand_to_app" },
      HEARTBEAT: { next: "connected", action: "refresh" },
      DISCONNECT: { next: "waiting", action: "drop_socket_backoff" },
      silence: { next: "waiting", action: "drop_socket_backoff" },
      restart: { next: "connected", action: "send_disconnect_reconnect" },
      stop: { next: "stopped", action: "send_disconnect" },
    },
    waiting: {
      retry_due: { next: "connected", action: "connect_send_ready" },
      stop: { next: "stopped" },
    },
  },
};
