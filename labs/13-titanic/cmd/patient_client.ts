/**
 * patient_client: a 9/TSP client (the Guide's `ticlient`). It stores requests with
 * `titanic.request` (each printed as `{"uuid"}` once stored), may go away (`--no-wait`), and
 * collects replies later (`--resume UUID`): `titanic.reply` until 200, then `titanic.close`.
 *
 * @module
 */
import { delay } from "@lib/async/mod.ts";
import { MdpClient, MdpErrorReply, zmqReqFactory } from "@lib/patterns/mod.ts";
import { ConfigError, endpoint, int, repeatable, runRole } from "@lib/role/mod.ts";
import { TspStatus } from "../internal/tsp.ts";
import { UUID_PATTERN } from "../internal/storage_protocol.ts";

interface Options {
  broker: string;
  service: string;
  body: string;
  requests?: number;
  concurrency: number;
  resume: string[];
  wait: boolean;
  close: boolean;
  pollInterval: number;
  timeout: number;
  retries: number;
  maxWait: number;
}

const decoder = new TextDecoder();

await runRole<Options>({
  name: "patient_client",
  summary: "9/TSP client: stores requests, may go away, collects replies later (--resume UUID)",
  configure: (cmd) =>
    cmd
      .option(
        "--broker <endpoint>",
        "majordomo_broker (Lab 12) to connect to",
        endpoint,
        "tcp://127.0.0.1:5512",
      )
      .option("--service <name>", "target service of new requests", "echo")
      .option("--body <text>", "request body (with --requests > 1: <text>-<i>)", "hello")
      .option(
        "--requests <n>",
        "new requests to store (default 1, or 0 with --resume)",
        int({ min: 0, max: 1_000_000 }),
      )
      .option(
        "--concurrency <n>",
        "titanic calls at once (one REQ client each)",
        int({ min: 1, max: 64 }),
        4,
      )
      .option(
        "--resume <uuid>",
        "collect the reply of an earlier request (repeatable)",
        repeatable(),
        [],
      )
      .option(
        "--no-wait",
        "store the requests, print their UUIDs and exit (collect later with --resume)",
      )
      .option("--no-close", "leave replies in the store (titanic.close not sent)")
      .option(
        "--poll-interval <ms>",
        "ask titanic.reply again after a 300 this much later",
        int({ min: 1 }),
        250,
      )
      .option(
        "--timeout <ms>",
        "wait for each titanic answer (Lazy Pirate)",
        int({ min: 10 }),
        2500,
      )
      .option("--retries <n>", "attempts per titanic call", int({ min: 1, max: 1000 }), 3)
      .option(
        "--max-wait <ms>",
        "give up on a reply after this long (0 = never)",
        int({ min: 0 }),
        0,
      ),
  validate(options) {
    for (const uuid of options.resume) {
      if (!UUID_PATTERN.test(uuid)) {
        throw new ConfigError(`expected --resume of 32 hex characters, got "${uuid}"`);
      }
    }
    if (options.requests === 0 && options.resume.length === 0) {
      throw new ConfigError("expected --requests >= 1 or a --resume UUID, got neither");
    }
  },
  async run(options, ctx) {
    const lanes = Array.from({ length: options.concurrency }, () =>
      new MdpClient({
        connect: zmqReqFactory({ endpoint: options.broker }),
        timeoutMs: options.timeout,
        retries: options.retries,
        signal: ctx.signal,
      }));
    ctx.defer(() => lanes.forEach((lane) => lane.close()));
    const text = (frame: Uint8Array | undefined) => decoder.decode(frame ?? new Uint8Array());
    const started = performance.now();

    // One titanic call. A 500 (storage down) or a broker refusal (no titanic worker in time:
    // titanic_broker restarting) is retried after --poll-interval, --retries x 10 times.
    const call = async (lane: MdpClient, service: string, body: string[]) => {
      for (let round = 0;; round++) {
        const last = round >= options.retries * 10 || ctx.signal.aborted;
        try {
          const answer = await lane.request(service, body);
          if (text(answer[0]) !== TspStatus.ERROR || last) return answer;
          ctx.log.limited("info", "server_error_retry", { service });
        } catch (error) {
          if (!(error instanceof MdpErrorReply) || last) throw error;
          ctx.log.limited("info", "broker_refused_retry", { service, error: error.message });
        }
        await delay(options.pollInterval, { signal: ctx.signal }).catch(() => {});
      }
    };

    // Runs `job(i, lane)` for i in 0..n-1 on the lanes; stops at the first failure.
    const onLanes = async (n: number, job: (i: number, lane: MdpClient) => Promise<void>) => {
      let next = 0;
      await Promise.all(lanes.map(async (lane) => {
        while (next < n && !ctx.signal.aborted) await job(next++, lane);
      }));
    };

    const uuids = [...options.resume.map((u) => u.toLowerCase())];
    const stored: string[] = [];
    const requests = options.requests ?? (options.resume.length > 0 ? 0 : 1);
    await onLanes(requests, async (i, lane) => {
      const body = requests > 1 ? `${options.body}-${i}` : options.body;
      const answer = await call(lane, "titanic.request", [options.service, body]);
      const status = text(answer[0]);
      if (!status.startsWith(TspStatus.OK) || !UUID_PATTERN.test(text(answer[1]))) {
        throw new Error(`titanic.request: expected "200" and a UUID, got "${status}"`);
      }
      const uuid = text(answer[1]);
      stored.push(uuid);
      ctx.print(JSON.stringify({ uuid, body }));
    });
    uuids.push(...stored);
    const storeMs = performance.now() - started;
    ctx.log.info("requests_stored", {
      requests: stored.length,
      rps: Math.round(stored.length / (storeMs / 1000)),
    });
    if (!options.wait || ctx.signal.aborted) return;

    let failed = 0;
    await onLanes(uuids.length, async (i, lane) => {
      const uuid = uuids[i];
      const since = performance.now();
      while (!ctx.signal.aborted) {
        const answer = await call(lane, "titanic.reply", [uuid]);
        const status = text(answer[0]);
        if (status.startsWith(TspStatus.OK)) {
          ctx.print(JSON.stringify({ uuid, reply: answer.slice(1).map(text) }));
          if (options.close) await call(lane, "titanic.close", [uuid]);
          return;
        }
        if (status.startsWith(TspStatus.UNKNOWN) || status.startsWith(`${TspStatus.ERROR} `)) {
          // Unknown, or a dead letter (500 with its reason): asking again will not help.
          failed++;
          ctx.print(JSON.stringify({ uuid, error: status }));
          return;
        }
        if (options.maxWait > 0 && performance.now() - since > options.maxWait) {
          failed++;
          ctx.print(JSON.stringify({ uuid, error: `no reply within ${options.maxWait} ms` }));
          return;
        }
        await delay(options.pollInterval, { signal: ctx.signal }).catch(() => {});
      }
    });
    const seconds = (performance.now() - started) / 1000;
    ctx.log.info("summary", {
      requests: uuids.length,
      replies: uuids.length - failed,
      failed,
      seconds: Math.round(seconds * 1000) / 1000,
      completed_per_s: Math.round((uuids.length - failed) / seconds),
    });
    if (failed > 0 || ctx.signal.aborted) ctx.exitCode = 1;
  },
});
