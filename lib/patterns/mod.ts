/**
 * The reusable cores of the Guide's patterns, sans-IO: each takes frames and a clock and
 * answers through a `send` function (see {@link PatternPort} and {@link Pattern}); the
 * socket loop stays in the role.
 *
 * @example
 * ```ts
 * import { Fsm, InFlight } from "@lib/patterns/mod.ts";
 * const work = new InFlight<number>();
 * work.add(1);
 * new Fsm({ states: ["a"], events: ["e"], initial: "a", cells: {} }).state; // "a"
 * ```
 *
 * @module
 */

export { type Frames, type Pattern, type PatternPort, trySend } from "./port.ts";
export {
  type Cell,
  type FireResult,
  Fsm,
  type FsmTable,
  step,
  tableMarkdown,
  type Transition,
  validateTable,
} from "./fsm.ts";
export { InFlight } from "./in_flight.ts";
export { ScanPacer } from "./scan_pacer.ts";
export {
  AbortedError,
  HandshakeError,
  type HandshakeFailure,
  LazyPirateClient,
  type LazyPirateOptions,
  type LazyPirateStats,
  NoReplyError,
  type ReqChannel,
  type ReqChannelFactory,
  type RetryInfo,
  zmqReqFactory,
  type ZmqReqFactoryOptions,
} from "./lazy_pirate.ts";
export {
  RetransmitWindow,
  type RetransmitWindowOptions,
  type Unacked,
} from "./retransmit_window.ts";
export {
  type DedupStreamState,
  DedupWindow,
  type DedupWindowOptions,
  type DedupWindowStats,
} from "./dedup_window.ts";
export { RecentIds, type RecentIdsOptions, RecentMap } from "./recent_ids.ts";
export {
  ParanoidPirateWorker,
  type ParanoidPirateWorkerOptions,
  type PirateWorkerPort,
  type PirateWorkerState,
  type PirateWorkerStats,
} from "./paranoid_pirate_worker.ts";
export {
  type Expired,
  type QuarantineResult,
  type ReadyResult,
  type WorkerInfo,
  WorkerQueue,
  type WorkerQueueOptions,
  type WorkerQueueStats,
} from "./worker_queue.ts";
export {
  type LivenessChange,
  PEER_LIVENESS_TABLE,
  PeerLiveness,
  type PeerLivenessEvent,
  type PeerLivenessOptions,
  type PeerLivenessStats,
  type PeerState,
} from "./peer_liveness.ts";
export {
  judgeSequence,
  type PeerSequence,
  type SequencePosition,
  type SequenceTotals,
  SequenceTracker,
  type SequenceTrackerOptions,
  type SequenceVerdict,
} from "./sequence_tracker.ts";
export {
  BINARY_STAR_TABLE,
  BinaryStar,
  type BinaryStarAction,
  type BinaryStarChange,
  type BinaryStarEvent,
  type BinaryStarOptions,
  type BinaryStarState,
  type BinaryStarStats,
  decodeBeacon,
  encodeBeacon,
  PEER_EXPIRED,
} from "./binary_star.ts";
export {
  type BreakerAction,
  type BreakerChange,
  type BreakerEvent,
  type BreakerState,
  CIRCUIT_BREAKER_TABLE,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerStats,
} from "./circuit_breaker.ts";
export {
  decodeClientMessage,
  decodeClientReply,
  decodeServiceName,
  decodeWorkerMessage,
  encodeClientReply,
  encodeClientRequest,
  encodeWorker,
  errorReplyBody,
  frameText,
  MDP_ERROR,
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_HEARTBEAT_LIVENESS,
  MDP_MAX_SERVICE_BYTES,
  MDPC01,
  type MdpClientMessage,
  MdpCommand,
  type MdpCommandName,
  type MdpPeerKind,
  MDPW01,
  type MdpWorkerMessage,
  MMI_PREFIX,
  MmiStatus,
  parseErrorReply,
  sameBytes,
  splitRouterMessage,
} from "./mdp_protocol.ts";
export {
  MdpAsyncClient,
  type MdpAsyncClientOptions,
  type MdpAsyncClientStats,
  type MdpAsyncResult,
  MdpClient,
  type MdpClientOptions,
  MdpErrorReply,
} from "./mdp_client.ts";
export {
  type MdpRequest,
  MdpWorker,
  type MdpWorkerOptions,
  type MdpWorkerState,
  type MdpWorkerStats,
} from "./mdp_worker.ts";
export {
  type Beacon as ZreBeacon,
  beaconDelay,
  type BeaconPeer,
  type BeaconPeerEvent,
  BeaconPeers,
  type BeaconPeersOptions,
  type BeaconRejection,
  decodeBeacon as decodeZreBeacon,
  type DecodedBeacon,
  encodeBeacon as encodeZreBeacon,
  newUuid,
  uuidFromHex,
  uuidToHex,
  ZRE_BEACON_INTERVAL_MS,
  ZRE_BEACON_SIZE,
  ZRE_BEACON_VERSION,
  ZRE_DISCOVERY_PORT,
} from "./zre_beacon.ts";
