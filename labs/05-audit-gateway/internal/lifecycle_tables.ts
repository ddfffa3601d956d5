/**
 * The gateway's two state machines as tables (state × event → next state / action): a
 * record's life at the gateway and a worker's standing with it. `GatewayCore` implements
 * them; SUMMARY.md prints them with `tableMarkdown`, and a test keeps the two in step.
 *
 * @module
 */
import type { FsmTable } from "@lib/patterns/mod.ts";

/** A record's life at the gateway (from `accepted` on; `busy`/`invalid` never enter it). */
export const RECORD_STATES: FsmTable<
  "queued" | "at_worker" | "acked",
  | "dispatch"
  | "client_retry"
  | "ack_from_holder"
  | "ack_from_other"
  | "nack"
  | "record_timeout"
  | "worker_lost"
  | "send_queue_full",
  string
> = {
  states: ["queued", "at_worker", "acked"],
  events: [
    "dispatch",
    "client_retry",
    "ack_from_holder",
    "ack_from_other",
    "nack",
    "record_timeout",
    "worker_lost",
    "send_queue_full",
  ],
  initial: "queued",
  cells: {
    queued: {
      dispatch: { next: "at_worker", action: "REC to the worker with most free credit" },
      client_retry: { next: "queued", action: "newest requester gets the ack" },
    },
    at_worker: {
      client_retry: { next: "at_worker", action: "newest requester gets the ack" },
      ack_from_holder: { next: "acked", action: "reply ok {seq, hash}" },
      ack_from_other: { next: "at_worker", action: "ignored, bad_message (forged)" },
      nack: { next: "queued", action: "front of the queue" },
      record_timeout: { next: "queued", action: "front of the queue; worker quarantined" },
      worker_lost: { next: "queued", action: "front of the queue" },
      send_queue_full: { next: "queued", action: "front of the queue" },
    },
    acked: {
      client_retry: { next: "acked", action: "original ack (while in --recent-ids)" },
      ack_from_holder: { next: "acked", action: "ignored (stale)" },
    },
  },
};

/** Every registered state: silence or a failed send ends the worker. */
const LOST = {
  silent: { next: "unknown", action: "worker_lost; re-dispatch what it held" },
  unreachable: { next: "unknown", action: "worker_lost; re-dispatch what it held" },
} as const;

/** A worker's standing with the gateway (`unknown` = not registered). */
export const WORKER_STATES: FsmTable<
  "unknown" | "ready" | "quarantined" | "draining",
  | "READY"
  | "HB_ACK_NACK"
  | "record_timeout"
  | "quarantine_over"
  | "BYE"
  | "last_ack"
  | "silent"
  | "unreachable",
  string
> = {
  states: ["unknown", "ready", "quarantined", "draining"],
  events: [
    "READY",
    "HB_ACK_NACK",
    "record_timeout",
    "quarantine_over",
    "BYE",
    "last_ack",
    "silent",
    "unreachable",
  ],
  initial: "unknown",
  cells: {
    unknown: {
      READY: [
        { next: "unknown", action: "RESET (1,000 workers already)", when: "table_full" },
        { next: "ready", action: "register with its credit" },
      ],
      HB_ACK_NACK: { next: "unknown", action: "RESET (an ACK is refused: bad_message)" },
      BYE: { next: "unknown", action: "BYE_OK" },
    },
    ready: {
      READY: { next: "ready", action: "re-dispatch what it held" },
      HB_ACK_NACK: { next: "ready", action: "alive; HB answered, credit back per ack" },
      record_timeout: { next: "quarantined", action: "re-dispatch its expired records" },
      BYE: { next: "draining", action: "BYE_OK; nothing new" },
      ...LOST,
    },
    quarantined: {
      READY: { next: "quarantined", action: "re-dispatch what it held" },
      HB_ACK_NACK: { next: "quarantined", action: "alive; acks accepted (backoff resets)" },
      record_timeout: { next: "quarantined", action: "re-dispatch; longer quarantine" },
      quarantine_over: { next: "ready", action: "tried again" },
      BYE: { next: "draining", action: "BYE_OK; nothing new" },
      ...LOST,
    },
    draining: {
      HB_ACK_NACK: { next: "draining", action: "acks accepted" },
      last_ack: { next: "unknown", action: "forgotten" },
      ...LOST,
    },
  },
};
