/**
 * A tiny role without ZeroMQ for the runtime's process tests. It logs `ready`, echoes
 * stdin lines to stdout (`--upper` upper-cases them), ticks every `--interval`, and has
 * switches to misbehave: `--fail-after`, `--hang-cleanup`, `--reject`, `--exit-after`.
 */
import { addShutdownHook } from "../../lifecycle/shutdown_hooks.ts";
import { ConfigError, duration, endpoint, int, list, runRole } from "../mod.ts";

interface Options {
  interval: number;
  bind: string;
  tags: string[];
  upper: boolean;
  apiKey?: string;
  failAfter?: number;
  rejectAfter?: number;
  throwAfter?: number;
  exitCode: number;
  exitAfter?: number;
  hangCleanup: boolean;
  slowCleanup?: number;
  min: number;
  max: number;
}

await runRole<Options>({
  name: "echo_role",
  summary: "Echoes stdin lines to stdout (runtime test fixture)",
  configure: (cmd) =>
    cmd
      .option("--interval <duration>", "tick interval", duration, 1000)
      .option("--bind <endpoint>", "endpoint reported as listening", endpoint, "tcp://127.0.0.1:*")
      .option("--tags <list>", "tags logged in ready", list, [])
      .option("--upper", "upper-case echoed lines", false)
      .option("--api-key <key>", "a secret that must not be logged")
      .option("--fail-after <ms>", "throw from run after ms", int({ min: 0 }))
      .option("--reject-after <ms>", "unhandled rejection after ms", int({ min: 0 }))
      .option("--throw-after <ms>", "throw in a timer callback after ms", int({ min: 0 }))
      .option("--exit-code <n>", "exit code when run returns", int({ min: 0, max: 125 }), 0)
      .option("--exit-after <ms>", "return from run after ms", int({ min: 0 }))
      .option("--hang-cleanup", "a deferred cleanup that never finishes", false)
      .option("--slow-cleanup <ms>", "a deferred cleanup that takes ms", int({ min: 0 }))
      .option("--min <n>", "lower bound", int(), 0)
      .option("--max <n>", "upper bound", int(), 10),
  commands: {
    sum: {
      summary: "prints the sum of its arguments",
      configure: (cmd) =>
        cmd.argument("<numbers...>", "numbers to add").option(
          "--scale <n>",
          "multiplier",
          int(),
          1,
        ),
      run(options: { numbers: string[]; scale: number }, ctx) {
        const total = options.numbers.reduce((a, b) => a + Number(b), 0) * options.scale;
        ctx.print(`sum=${total}`);
      },
    },
  },
  validate(options) {
    if (options.min > options.max) {
      throw new ConfigError(`expected --min <= --max, got ${options.min} > ${options.max}`);
    }
  },
  async run(options, ctx) {
    if (options.min < 0) throw new ConfigError(`expected --min >= 0, got ${options.min}`);
    addShutdownHook(() => ctx.log.info("hook_ran"));
    ctx.defer(() => ctx.log.info("cleanup_ran", { order: 1 }));
    ctx.defer(() => ctx.log.info("cleanup_ran", { order: 2 }));
    if (options.slowCleanup !== undefined) {
      const ms = options.slowCleanup;
      ctx.defer(() => new Promise((resolve) => setTimeout(resolve, ms)));
    }
    if (options.hangCleanup) {
      ctx.defer(() => {
        ctx.log.info("cleanup_hanging");
        return new Promise(() => {});
      });
    }
    ctx.listening(options.bind.replace(":*", ":40000"));
    ctx.log.info("ready", { tags: options.tags, interval: options.interval });
    if (options.failAfter !== undefined) {
      await ctx.sleep(options.failAfter);
      throw new Error("boom from run");
    }
    if (options.rejectAfter !== undefined) {
      setTimeout(() => void Promise.reject(new Error("stray rejection")), options.rejectAfter);
    }
    if (options.throwAfter !== undefined) {
      setTimeout(() => {
        throw new Error("thrown in a timer");
      }, options.throwAfter);
    }
    if (options.exitAfter !== undefined) {
      await ctx.sleep(options.exitAfter);
      ctx.exitCode = options.exitCode;
      return;
    }
    let n = 0;
    ctx.every(options.interval, () => ctx.log.debug("tick", { n: n++ }));
    void ctx.stopped.then(() => ctx.log.info("stopped_resolved", { ticks: n }));
    const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
    ctx.signal.addEventListener("abort", () => void reader.cancel().catch(() => {}));
    let buffer = "";
    while (!ctx.signal.aborted) {
      const { value, done } = await reader.read().catch(() => ({ value: "", done: true }));
      if (done) break;
      buffer += value;
      let i;
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        ctx.print(options.upper ? line.toUpperCase() : line);
        ctx.log.info("echoed", { length: line.length });
      }
    }
    await ctx.stopped;
  },
});
