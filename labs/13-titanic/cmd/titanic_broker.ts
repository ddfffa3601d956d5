/**
 * titanic_broker: the Titanic service (9/TSP) over a Majordomo broker. To the broker it is a
 * worker for `titanic.request`, `titanic.reply` and `titanic.close` (`--workers` sessions
 * each) and a client of the target services (the dispatcher's `--lanes`). Every request and
 * reply goes through storage_service, which has them on disk before anything is answered.
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  InFlight,
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_HEARTBEAT_LIVENESS,
  MdpClient,
  type MdpRequest,
  MdpWorker,
  zmqReqFactory,
} from "@lib/patterns/mod.ts";
import { endpoint, int, runRole } from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import { Dispatcher } from "../internal/dispatcher.ts";
import { StorageClient } from "../internal/storage_client.ts";
import {
  newUuid,
  parseTitanicRequest,
  parseUuidFrame,
  replyAnswer,
  statusFrames,
  TSP_SERVICES,
  type TspService,
  TspStatus,
} from "../internal/tsp.ts";

interface Options {
  broker: string;
  storage: string;
  workers: number;
  lanes: number;
  dispatchTimeout: number;
  maxAttempts: number;
  retryInitial: number;
  retryMax: number;
  pollInterval: number;
  storageTimeout: number;
  heartbeatInterval: number;
  liveness: number;
  statsInterval: number;
}

const decoder = new TextDecoder();

await runRole<Options>({
  name: "titanic_broker",
  summary:
    "9/TSP over a Majordomo broker: titanic.request/reply/close workers and the dispatcher (capped backoff, dead letters)",
  configure: (cmd) =>
    cmd
      .option(
        "--broker <endpoint>",
        "majordomo_broker (Lab 12) to connect to",
        endpoint,
        "tcp://127.0.0.1:5512",
      )
      .option(
        "--storage <endpoint>",
        "storage_service to connect to",
        endpoint,
        "tcp://127.0.0.1:5513",
      )
      .option(
        "--workers <n>",
        "MDP worker sessions per titanic.* service",
        int({ min: 1, max: 64 }),
        2,
      )
      .option(
        "--lanes <n>",
        "requests dispatched at once (one REQ client each)",
        int({ min: 1, max: 256 }),
        8,
      )
      .option(
        "--dispatch-timeout <ms>",
        "wait this long for a target service's reply",
        int({ min: 10 }),
        5000,
      )
      .option(
        "--max-attempts <n>",
        "failed attempts before a request is dead-lettered",
        int({ min: 1, max: 1_000_000 }),
        20,
      )
      .option(
        "--retry-initial <ms>",
        "first retry delay (doubles, full jitter)",
        int({ min: 1 }),
        500,
      )
      .option("--retry-max <ms>", "cap of the retry delay", int({ min: 1 }), 30_000)
      .option("--poll-interval <ms>", "look for due requests this often", int({ min: 10 }), 500)
      .option(
        "--storage-timeout <ms>",
        "a storage call failing after this long answers 500",
        int({ min: 10 }),
        3000,
      )
      .option(
        "--heartbeat-interval <ms>",
        "MDP heartbeat interval (as the broker's)",
        int({ min: 10 }),
        MDP_HEARTBEAT_INTERVAL_MS,
      )
      .option(
        "--liveness <n>",
        "silent intervals before the broker is dead",
        int({ min: 1, max: 100 }),
        MDP_HEARTBEAT_LIVENESS,
      )
      .option(
        "--stats-interval <ms>",
        "log a stats event this often (0 = never)",
        int({ min: 0 }),
        10_000,
      ),
  async run(options, ctx) {
    const log = ctx.log;
    // The storage connection: one DEALER, numbered calls.
    const storageSocket = new Dealer({
      linger: 0,
      sendHighWaterMark: 10_000,
      receiveHighWaterMark: 10_000,
    });
    storageSocket.connect(options.storage);
    const storage = new StorageClient({
      clock: systemClock,
      log,
      send: (frames) => {
        if (!storageSocket.sendSync(frames)) {
          storageSocket.send(frames).catch(() => {}); // its call times out
        }
      },
    }, { timeoutMs: options.storageTimeout });
    ctx.serve(storageSocket, (frames) => storage.onMessage(frames), {
      name: "storage",
      untilClosed: true,
    }).catch(() => {});

    // The dispatcher: one synchronous MDP client per lane.
    const lanes = Array.from({ length: options.lanes }, () =>
      new MdpClient({
        connect: zmqReqFactory({ endpoint: options.broker }),
        timeoutMs: options.dispatchTimeout,
        retries: 1,
      }));
    const dispatcher = new Dispatcher({
      clock: systemClock,
      wallNow: () => Date.now(),
      log,
      due: async (limit, exclude) =>
        (await storage.call({ op: "due", limit, exclude })).items ?? [],
      mmi: async (lane, service) =>
        decoder.decode(
          (await lanes[lane].request("mmi.service", [service]))[0] ?? new Uint8Array(),
        ),
      request: (lane, service, body) => lanes[lane].request(service, body),
      storeReply: async (uuid, body) => void await storage.call({ op: "reply", uuid, body }),
      storeFailure: async (uuid, reason, retryAt) =>
        void await storage.call({
          op: "fail",
          uuid,
          reason: reason.slice(0, 1000),
          ...(retryAt === null ? {} : { retry_at: retryAt }),
        }),
    }, {
      lanes: options.lanes,
      maxAttempts: options.maxAttempts,
      backoff: { initialMs: options.retryInitial, maxMs: options.retryMax },
    });

    // The three 9/TSP services.
    const work = new InFlight<number>();
    let seq = 0;
    const counts = { requests: 0, replies: 0, closes: 0, errors: 0, bad: 0 };
    const handle = async (service: TspService, body: Uint8Array[]): Promise<Uint8Array[]> => {
      try {
        switch (service) {
          case "titanic.request": {
            const request = parseTitanicRequest(body);
            const uuid = newUuid();
            await storage.call({ op: "put", uuid, service: request.service, body: request.body });
            counts.requests++;
            log.debug("request_stored", { uuid, service: request.service });
            void dispatcher.poll();
            return statusFrames(TspStatus.OK, uuid);
          }
          case "titanic.reply": {
            const uuid = parseUuidFrame(body);
            const answer = await storage.call({ op: "get", uuid });
            counts.replies++;
            return replyAnswer(answer.lookup ?? { state: "unknown" });
          }
          case "titanic.close": {
            const uuid = parseUuidFrame(body);
            await storage.call({ op: "remove", uuid });
            counts.closes++;
            return statusFrames(TspStatus.OK);
          }
        }
      } catch (error) {
        if (error instanceof BadMessageError) {
          // Malformed: logged (rate-limited) and answered 400, so the client does not retry.
          counts.bad++;
          ctx.badMessage(error.reason, { service });
          return statusFrames(`${TspStatus.UNKNOWN} bad request: ${error.reason}`.slice(0, 200));
        }
        counts.errors++;
        log.limited("warn", "tsp_error", { service, error: String(error) });
        return statusFrames(TspStatus.ERROR);
      }
    };

    const workers: { worker: MdpWorker; socket: () => Dealer | undefined }[] = [];
    for (const service of TSP_SERVICES) {
      for (let i = 0; i < options.workers; i++) {
        let socket: Dealer | undefined;
        const wlog = log.child({ service });
        const worker: MdpWorker = new MdpWorker({
          clock: systemClock,
          log: wlog,
          send: (frames) => {
            const current = socket;
            if (!current || current.closed) throw new Error("no connected socket");
            if (!current.sendSync(frames)) current.send(frames).catch(() => {});
          },
          connect: () => {
            const fresh = new Dealer({ linger: 1000 });
            fresh.connect(options.broker);
            socket = fresh;
            ctx.serve(fresh, (frames) => {
              const request: MdpRequest | null = worker.receive(frames);
              if (!request) return;
              if (ctx.signal.aborted) return worker.discard();
              const id = ++seq;
              work.add(id);
              handle(service, request.body)
                .then((answer) => worker.reply(request, answer))
                .finally(() => work.done(id));
            }, { name: service, untilClosed: true }).catch(() => {});
          },
          disconnect: () => socket?.close({ linger: 0 }),
        }, {
          service,
          heartbeatIntervalMs: options.heartbeatInterval,
          liveness: options.liveness,
        });
        workers.push({ worker, socket: () => socket });
      }
    }

    const tickMs = Math.max(10, Math.min(100, Math.floor(options.heartbeatInterval / 4)));
    ctx.every(tickMs, () => {
      const now = systemClock.now();
      storage.tick(now);
      for (const { worker } of workers) worker.tick(now);
    });
    ctx.every(options.pollInterval, () => void dispatcher.poll());
    ctx.every(options.statsInterval, () =>
      log.info("stats", {
        ...counts,
        ...dispatcher.stats(),
        storage_pending: storage.stats().pending,
        storage_timeouts: storage.stats().timeouts,
      }));
    for (const { worker } of workers) worker.start();
    log.info("titanic_ready", { services: [...TSP_SERVICES], workers: options.workers });
    void dispatcher.poll();

    await ctx.stopped;
    // Answer what is in hand, finish the dispatches in flight, then leave the broker.
    dispatcher.stop();
    await ctx.drain(
      () => Promise.all([work.whenSettled(), dispatcher.whenSettled()]).then(() => {}),
      { what: "titanic requests and dispatches in flight" },
    );
    for (const { worker } of workers) worker.disconnect();
    log.info("titanic_stats", { ...counts, ...dispatcher.stats() });
    for (const { socket } of workers) socket()?.close();
    for (const lane of lanes) lane.close();
    storage.abandon("stopping");
    storageSocket.close();
  },
});
