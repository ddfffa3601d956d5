/**
 * A role without ZeroMQ for the runtime's `ctx.serve` / `ctx.drain` / `log.limited` /
 * log-cap process tests. It serves stdin lines: `bad <reason>` throws a BadMessageError,
 * `boom` throws an Error, `sockerr` makes the source itself fail, `slow <ms>` takes that
 * long, anything else logs `handled` {line}. After serving it drains for `--drain-ms`.
 */
import { BadMessageError } from "../../codec/mod.ts";
import { int, runRole } from "../mod.ts";

interface Options {
  untilClosed: boolean;
  drainMs?: number;
  bigFields: boolean;
  idle: boolean;
}

async function* stdinLines(): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (line === "sockerr") throw new Error("the source broke");
      yield line;
    }
  }
}

await runRole<Options>({
  name: "serve_role",
  summary: "Serves stdin lines through ctx.serve (runtime test fixture)",
  configure: (cmd) =>
    cmd
      .option("--until-closed", "keep serving after the stop until stdin ends", false)
      .option("--drain-ms <ms>", "after serving, drain for this long", int({ min: 0 }))
      .option("--big-fields", "log one record with oversized fields, then serve", false)
      .option("--idle", "do not read stdin: wait for the stop", false),
  async run(options, ctx) {
    if (options.bigFields) {
      ctx.log.info("big", {
        silent_ms: 3009.7584789999996,
        took_s: 1.23456789,
        count_ms: 12,
        ratio: 0.123456789,
        frames: Array.from({ length: 1001 }, (_, i) => i),
        text: "x".repeat(2000),
        raw: new Uint8Array(1000).fill(0xab),
        nested: { rtt_ms: [1.25, 2.3456] },
      });
    }
    ctx.log.info("ready");
    if (options.idle) return await ctx.stopped;
    await ctx.serve(stdinLines(), async (line) => {
      if (line.startsWith("bad ")) throw new BadMessageError(line.slice(4));
      if (line === "boom") throw new Error("handler blew up");
      if (line.startsWith("slow ")) await new Promise((r) => setTimeout(r, Number(line.slice(5))));
      ctx.log.info("handled", { line });
    }, { name: "stdin", untilClosed: options.untilClosed });
    ctx.log.info("serve_returned", { stopping: ctx.signal.aborted });
    if (options.drainMs !== undefined) {
      const drainMs = options.drainMs;
      const budget = ctx.drainBudgetMs();
      const ok = await ctx.drain(async (signal) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainMs);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            ctx.log.info("drain_aborted");
            resolve();
          }, { once: true });
        });
      }, { what: "stdin" });
      ctx.log.info("drained", { ok, budget_ms: budget });
    }
  },
});
