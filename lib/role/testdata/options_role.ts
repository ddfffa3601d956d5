/**
 * A role for the runtime's option and error process tests: the path/size/key validators,
 * repeatable options, and errors escaping `run` (`--bind` twice, `--open` a missing file).
 */
import {
  byteSize,
  endpoint,
  readableDir,
  readableFile,
  repeatable,
  runRole,
  writableDir,
  writableFile,
  z85Key,
} from "../mod.ts";

interface Options {
  input?: string;
  inDir?: string;
  outDir?: string;
  acksOut?: string;
  serverKey?: string;
  maxSize: number;
  peer: string[];
  tag: string[];
  rack: string[];
  bind?: string;
  open?: string;
  throwType: boolean;
}

await runRole<Options>({
  name: "options_role",
  summary: "Parses checked options and fails on request (runtime test fixture)",
  configure: (cmd) =>
    cmd
      .option("--input <file>", "a file to read", readableFile)
      .option("--in-dir <dir>", "a directory to read", readableDir)
      .option("--out-dir <dir>", "a directory to write into", writableDir)
      .option("--acks-out <file>", "a file to append to", writableFile)
      .option("--server-key <z85>", "a CURVE key", z85Key)
      .option("--max-size <size>", "largest message", byteSize, 65536)
      .option(
        "--peer <endpoint>",
        "peer to connect to",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5501 if no --bind" }),
      )
      .option("--tag <name>", "a tag", repeatable(), [])
      .option("--rack <name>", "racks shown", repeatable(), ["A", "B"])
      .option("--bind <endpoint>", "bind a ROUTER here", endpoint)
      .option("--open <path>", "open this file in run")
      .option("--throw-type", "throw a TypeError from run", false),
  async run(options, ctx) {
    ctx.log.info("parsed", {
      input: options.input,
      in_dir: options.inDir,
      out_dir: options.outDir,
      max_size: options.maxSize,
      peer: options.peer,
      tag: options.tag,
      rack: options.rack,
    });
    if (options.throwType) {
      (undefined as unknown as { x: () => void }).x();
    }
    if (options.open) Deno.openSync(options.open).close();
    if (options.bind) {
      // Loaded only here: lib/zmq needs --allow-ffi, the other cases run without it.
      const { Router } = await import("../../zmq/mod.ts");
      const router = new Router();
      ctx.defer(() => router.close());
      await router.bind(options.bind);
      ctx.listening(router);
      await ctx.stopped;
    }
  },
});
