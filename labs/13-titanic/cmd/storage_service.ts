/**
 * storage_service: the durable request/reply store of the Titanic pattern. A ROUTER speaks
 * the small storage protocol (internal/storage_protocol.ts) to titanic_broker; every write is
 * committed to node:sqlite (WAL, synchronous=FULL) before it is answered.
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";
import { endpoint, int, oneOf, runRole } from "@lib/role/mod.ts";
import { Router } from "@lib/zmq/mod.ts";
import { TitanicStore } from "../internal/store.ts";
import {
  decodeStorageRequest,
  encodeStorage,
  type StorageAnswer,
  type StorageRequest,
} from "../internal/storage_protocol.ts";

/** Most requests answered by one commit. */
const MAX_GROUP = 256;

interface Options {
  bind: string;
  db: string;
  fsync: "on" | "off";
  statsInterval: number;
}

await runRole<Options>({
  name: "storage_service",
  summary:
    "Durable request/reply store (node:sqlite, WAL, synchronous=FULL) behind a small ROUTER protocol",
  configure: (cmd) =>
    cmd
      .option(
        "--bind <endpoint>",
        "ROUTER endpoint for titanic_broker",
        endpoint,
        "tcp://127.0.0.1:5513",
      )
      .option("--db <file>", "SQLite database file (created if missing)", "titanic.db")
      .option(
        "--fsync <on|off>",
        "on: synchronous=FULL, a commit is on disk before the answer; off: for benchmarks only",
        oneOf("on", "off"),
        "on",
      )
      .option(
        "--stats-interval <ms>",
        "log a stats event this often (0 = never)",
        int({ min: 0 }),
        10_000,
      ),
  async run(options, ctx) {
    const store = new TitanicStore(options.db, { fsync: options.fsync === "on" });
    ctx.defer(() => store.close());
    ctx.log.info("store_opened", { db: options.db, fsync: options.fsync, ...store.counts() });
    const router = new Router({
      mandatory: true,
      receiveHighWaterMark: 10_000,
      sendHighWaterMark: 10_000,
    });
    ctx.defer(() => router.close());
    await router.bind(options.bind);
    ctx.listening(router);

    const served = { put: 0, get: 0, reply: 0, fail: 0, remove: 0, due: 0, dropped: 0 };
    ctx.every(options.statsInterval, () => ctx.log.info("stats", { ...served, ...store.counts() }));

    const answer = (request: StorageRequest): StorageAnswer => {
      const { id } = request;
      switch (request.op) {
        case "put":
          store.putRequest(request.uuid, request.service, request.body, Date.now());
          return { id, ok: true };
        case "get":
          return { id, ok: true, lookup: store.lookup(request.uuid) };
        case "reply":
          return { id, ok: true, body: store.putReply(request.uuid, request.body) };
        case "fail": {
          const retryAt = request.retry_at ?? null;
          if (store.fail(request.uuid, request.reason, retryAt) && retryAt === null) {
            ctx.log.warn("dead_letter", { uuid: request.uuid, reason: request.reason });
          }
          return { id, ok: true };
        }
        case "remove":
          store.remove(request.uuid);
          return { id, ok: true };
        case "due":
          return {
            id,
            ok: true,
            items: store.due(Date.now(), request.limit, new Set(request.exclude)),
          };
      }
    };

    // Group commit: the requests that arrive together run in one transaction and are answered
    // after its COMMIT (one fsync for the group), at most MAX_GROUP at a time.
    let group: { to: Uint8Array; answer: StorageAnswer }[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const commitGroup = () => {
      clearTimeout(timer);
      timer = undefined;
      const answers = group;
      group = [];
      try {
        store.commit();
      } catch (error) {
        // Nothing of the group is durable: every answer becomes an error, the broker retries.
        ctx.log.limited("error", "commit_failed", { error: String(error), group: answers.length });
        try {
          store.rollback();
        } catch { /* the next BEGIN reports a broken database */ }
        for (const a of answers) a.answer = { id: a.answer.id, ok: false, error: String(error) };
      }
      for (const { to, answer } of answers) {
        router.send([to, encodeStorage(answer)]).catch(() => served.dropped++);
      }
    };

    await ctx.serve(router, (frames) => {
      if (frames.length !== 2) {
        throw new BadMessageError(`expected [routing id, request], got ${frames.length} frame(s)`);
      }
      const request = decodeStorageRequest(frames[1]);
      let reply: StorageAnswer;
      try {
        store.begin();
        reply = answer(request);
        served[request.op]++;
      } catch (error) {
        // A storage error (disk full, I/O): the broker answers 500 and its client retries.
        ctx.log.limited("error", "store_error", { op: request.op, error: String(error) });
        reply = { id: request.id, ok: false, error: String(error) };
      }
      group.push({ to: frames[0], answer: reply });
      if (group.length >= MAX_GROUP) commitGroup();
      else timer ??= setTimeout(commitGroup, 0);
    }, { name: "router" });
    commitGroup();
    ctx.log.info("store_closed", { ...served, ...store.counts() });
  },
});
