/**
 * anomaly_detector: scores security events (REP) against threat intel it keeps from the
 * feed (SUB, by type) and behavioural rules over its history (SQLite). Answers 503 until
 * its intel copy is complete, so no event is scored against half a feed; a retried event id
 * gets its stored verdict (restart-safe with `--db` on a volume).
 *
 * @module
 */

import { BadMessageError } from "@lib/codec/mod.ts";
import { endpoint, int, InvalidArgumentError, list, runRole } from "@lib/role/mod.ts";
import { Reply, Subscriber } from "@lib/zmq/mod.ts";
import { score } from "../internal/detector.ts";
import { sqlitePath } from "../internal/options.ts";
import { SqliteDetectorStore } from "../internal/detector_store.ts";
import { IntelSet } from "../internal/intel.ts";
import {
  decodeEvent,
  decodeFeed,
  encodeBody,
  INDICATOR_TYPES,
  type IndicatorType,
  MAX_BODY_BYTES,
} from "../internal/protocol.ts";

interface Options {
  feed: string;
  types: IndicatorType[];
  bind: string;
  db: string;
  statsInterval: number;
}

/** `--types ip,domain`: indicator types, each checked. */
function indicatorTypes(value: string): IndicatorType[] {
  return list(value).map((t) => {
    if (!(INDICATOR_TYPES as readonly string[]).includes(t)) {
      throw new InvalidArgumentError(
        `expected types from ${INDICATOR_TYPES.join(", ")}, got "${t}"`,
      );
    }
    return t as IndicatorType;
  });
}

await runRole<Options>({
  name: "anomaly_detector",
  summary: "REP: scores events against threat intel (SUB) and behavioural rules; SQLite history",
  configure: (cmd) =>
    cmd
      .option("--feed <endpoint>", "threat feed PUB endpoint", endpoint, "tcp://127.0.0.1:5610")
      .option("--types <list>", "indicator types to subscribe to", indicatorTypes, [
        ...INDICATOR_TYPES,
      ])
      .option("--bind <endpoint>", "REP endpoint to bind", endpoint, "tcp://127.0.0.1:5611")
      .option(
        "--db <path>",
        "SQLite history (':memory:' forgets it on restart)",
        sqlitePath,
        ":memory:",
      )
      .option("--stats-interval <ms>", "stats log interval (0 = off)", int({ min: 0 }), 10_000),
  async run(options, ctx) {
    const store = new SqliteDetectorStore(options.db);
    ctx.defer(() => store.close());
    const intel = new IntelSet(options.types);
    const sub = new Subscriber({ maxMessageSize: MAX_BODY_BYTES, receiveHighWaterMark: 100_000 });
    ctx.defer(() => sub.close());
    sub.subscribe(...options.types.map((t) => `ioc.${t}`), "ioc.meta");
    sub.connect(options.feed);
    const rep = new Reply({ maxMessageSize: MAX_BODY_BYTES });
    ctx.defer(() => rep.close());
    await rep.bind(options.bind);
    ctx.listening(rep);
    const stats = { scored: 0, findings: 0, not_ready: 0, refused: 0, stored: store.count() };
    ctx.every(options.statsInterval, () => {
      ctx.log.info("stats", { ...stats, intel: intel.sizes(), intel_complete: intel.complete });
    });

    const feed = ctx.serve(sub, (frames) => {
      const message = decodeFeed(frames);
      if (message.kind === "indicator") intel.add(message.indicator);
      else if (intel.onMeta(message.meta)) {
        ctx.log.info("intel_complete", { pass: message.meta.pass, sizes: intel.sizes() });
      }
    }, { name: "feed" });

    await ctx.serve(rep, async (frames) => {
      let event;
      try {
        event = decodeEvent(frames);
      } catch (error) {
        // REP must answer every request before it can take the next one.
        const detail = error instanceof BadMessageError ? error.reason : "unreadable";
        stats.refused++;
        await rep.send(encodeBody({ id: "", status: 400, findings: [], detail }));
        throw error;
      }
      if (!intel.complete) {
        stats.not_ready++;
        await rep.send(encodeBody({
          id: event.id,
          status: 503,
          findings: [],
          detail: "threat intel incomplete",
        }));
        return;
      }
      const verdict = score(event, intel, store);
      stats.scored++;
      stats.findings += verdict.findings.length;
      for (const f of verdict.findings) {
        ctx.log.info("finding", { event_id: event.id, rule: f.rule, severity: f.severity });
      }
      await rep.send(encodeBody(verdict));
    }, { name: "rep" });
    await feed;
  },
});
