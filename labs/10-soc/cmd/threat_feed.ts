/**
 * threat_feed: the threat-intel feed (PUB). Publishes every indicator as
 * `[ioc.<type>, Indicator]` once per pass, then `[ioc.meta, {pass, counts}]`, so consumers
 * subscribe by type and a late or restarted one is complete within one pass.
 *
 * @module
 */

import { s, validate } from "@lib/codec/mod.ts";
import { endpoint, int, InvalidArgumentError, readableFile, runRole } from "@lib/role/mod.ts";
import { Publisher } from "@lib/zmq/mod.ts";
import { countByType, DEFAULT_INDICATORS } from "../internal/intel.ts";
import { encodeBody, Indicator } from "../internal/protocol.ts";

interface Options {
  bind: string;
  interval: number;
  indicators?: Indicator[];
}

/** `--indicators FILE`: read and checked while parsing, so a bad file never opens a socket. */
function indicatorsFile(path: string): Indicator[] {
  readableFile(path);
  try {
    return validate(JSON.parse(Deno.readTextFileSync(path)), s.array(Indicator, { max: 100_000 }));
  } catch (error) {
    throw new InvalidArgumentError(
      `expected a JSON array of {type, value, severity, note}: ${(error as Error).message}`,
    );
  }
}

await runRole<Options>({
  name: "threat_feed",
  summary: "PUB: publishes threat indicators (ip, domain, hash) by type, a full pass per interval",
  configure: (cmd) =>
    cmd
      .option("--bind <endpoint>", "PUB endpoint to bind", endpoint, "tcp://127.0.0.1:5610")
      .option("--interval <ms>", "pause between full passes over the feed", int({ min: 10 }), 1000)
      .option(
        "--indicators <file>",
        "JSON array of {type, value, severity, note} (default: the built-in feed)",
        indicatorsFile,
      ),
  async run(options, ctx) {
    const indicators = options.indicators ?? DEFAULT_INDICATORS;
    const counts = countByType(indicators);
    const pub = new Publisher({ sendHighWaterMark: 100_000 });
    ctx.defer(() => pub.close());
    await pub.bind(options.bind);
    ctx.listening(pub);
    ctx.log.info("feed_loaded", { counts });
    let pass = 0;
    let dropped = 0;
    ctx.every(10_000, () => ctx.log.info("stats", { passes: pass, dropped }));
    while (!ctx.signal.aborted) {
      pass++;
      for (const indicator of indicators) {
        // Fire and forget: a slow subscriber loses messages at its HWM, never slows the feed.
        await pub.send([`ioc.${indicator.type}`, encodeBody(indicator)]).catch(() => dropped++);
      }
      await pub.send(["ioc.meta", encodeBody({ pass, counts })]).catch(() => dropped++);
      await ctx.sleep(options.interval);
    }
  },
});
