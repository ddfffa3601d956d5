/**
 * ZeroMQ for Deno over FFI, with the zeromq.js v6 API: one class per socket type,
 * promise-based `send`/`receive`, `for await` iteration, typed options, `socket.events`,
 * CURVE/Z85 helpers and a ZAP handler. libzmq is found as described in `ffi.ts`.
 *
 * @example
 * ```ts
 * import { Reply, Request } from "@lib/zmq/mod.ts";
 * await using rep = new Reply();
 * await rep.bind("tcp://127.0.0.1:*");
 * await using req = new Request();
 * req.connect(rep.lastEndpoint!);
 * await req.send("ping");
 * const [msg] = await rep.receive();
 * await rep.send(msg);
 * const [pong] = await req.receive();
 * ```
 *
 * @module
 */
export { MonitorEvent, SocketType } from "./constants.ts";
export { openSocketCount, terminate } from "./context.ts";
export {
  capability,
  type CurveKeyPair,
  curveKeyPair,
  curvePublic,
  version,
  Z85_ALPHABET,
  z85Decode,
  z85Encode,
} from "./curve.ts";
export { ZmqError } from "./errors.ts";
export { loadLibzmq } from "./ffi.ts";
export {
  configureReactor,
  POLL_FAILURE_LIMIT,
  type ReactorMode,
  type ReactorOptions,
  SYNC_COMPLETION_LIMIT,
} from "./reactor.ts";
export {
  DEFAULT_MESSAGE_PROPERTIES,
  type Frame,
  type Message,
  type MessageWithMetadata,
  Socket,
  type SocketOptions,
  ZERO_COPY_THRESHOLD,
  zeroCopyFramesInFlight,
  zeroCopyHeld,
} from "./socket.ts";
export {
  EVENT_BUFFER_LIMIT,
  type EventConsumer,
  type SocketEvent,
  SocketEvents,
} from "./socket_events.ts";
export {
  Dealer,
  Pair,
  Publisher,
  type PublisherOptions,
  Pull,
  Push,
  Reply,
  Request,
  type RequestOptions,
  Router,
  type RouterOptions,
  Stream,
  Subscriber,
  type SubscriberOptions,
  XPublisher,
  type XPublisherOptions,
  XSubscriber,
} from "./socket_types.ts";
export {
  logHandshakeFailures,
  logZapDecisions,
  ZAP_ENDPOINT,
  type ZapAuthorizer,
  type ZapDecision,
  type ZapDecisionLog,
  type ZapDecisionLogOptions,
  ZapHandler,
  type ZapRequest,
} from "./zap.ts";
export { allowListAuthorizer } from "./allow_list.ts";
export {
  type Cert,
  type CertCheck,
  type CertDirectory,
  CertError,
  certPaths,
  checkCertDirectory,
  directorySignature,
  fingerprint,
  formatCert,
  generateCert,
  type GenerateCertOptions,
  loadCertDirectory,
  parseCert,
  parsePublicKey,
  parseZpl,
  readCert,
  readPublicCert,
  readSecretCert,
  secretModeProblem,
  type ZplNode,
} from "./zcert.ts";
