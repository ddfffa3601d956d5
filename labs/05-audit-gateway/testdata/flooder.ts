/**
 * Test peer: floods an audit gateway's frontend from its own process, as fast as the
 * socket takes it. `--kind garbage` sends `['', 0xC1]` (never valid msgpack);
 * `--kind records` sends valid requests with fresh ids (accepted up to the in-flight
 * bound, then answered `busy`). Logs `flooding` once the first message is out and
 * `flood_stats` {sent} every 500 ms; stops on SIGTERM.
 *
 * Run: `deno run --allow-ffi --allow-env --allow-read testdata/flooder.ts --connect <ep>`
 *
 * @module
 */
import { endpoint, oneOf, runRole } from "@lib/role/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import { encodeRequest } from "../internal/protocol.ts";

interface Options {
  connect: string;
  kind: "garbage" | "records";
}

await runRole<Options>({
  name: "flooder",
  summary: "Floods a gateway frontend with garbage or records (test peer)",
  configure: (cmd) =>
    cmd
      .requiredOption("--connect <endpoint>", "gateway frontend", endpoint)
      .option("--kind <kind>", "garbage | records", oneOf("garbage", "records"), "garbage"),
  async run(options, ctx) {
    const dealer = new Dealer({ linger: 0, sendHighWaterMark: 10_000 });
    ctx.defer(() => dealer.close());
    dealer.connect(options.connect);
    // Replies (busy) are read and thrown away so the gateway's queue to us never fills.
    ctx.serve(dealer, () => {}, { name: "replies" }).catch(() => {});
    const empty = new Uint8Array(0);
    const garbage = new Uint8Array([0xc1]);
    let sent = 0;
    ctx.every(500, () => ctx.log.info("flood_stats", { sent }));
    while (!ctx.signal.aborted) {
      const body = options.kind === "garbage"
        ? garbage
        : encodeRequest({ id: `flood-${Deno.pid}-${sent}`, record: { n: sent } });
      await dealer.send([empty, body]);
      if (sent++ === 0) ctx.log.info("flooding", { kind: options.kind });
    }
    ctx.log.info("flood_done", { sent });
  },
});
