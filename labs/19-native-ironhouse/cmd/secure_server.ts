/**
 * secure_server: the stub role of Lab 19 (Native Ironhouse, Ironhouse (Native CurveZMQ)). Binds a REP socket and answers
 * each ping with a pong; a malformed request gets an error reply (REP must answer) and is
 * logged as `bad_message`. Replace it with the lab's real role; keep it thin: parse the
 * config, wire the parts from `internal/`, run.
 *
 * @module
 */

import { BadMessageError } from "@lib/codec/mod.ts";
import { endpoint, runRole } from "@lib/role/mod.ts";
import { Reply } from "@lib/zmq/mod.ts";
import { decodePing, encodePong, encodeRefusal } from "../internal/protocol.ts";

interface Options {
  bind: string;
}

await runRole<Options>({
  name: "secure_server",
  summary: "REP server: answers pings (the scaffold's stub; replace with the lab's role)",
  configure: (cmd) =>
    cmd.option("--bind <endpoint>", "REP endpoint to bind", endpoint, "tcp://127.0.0.1:5519"),
  async run(options, ctx) {
    const rep = new Reply();
    await rep.bind(options.bind);
    ctx.listening(rep);
    await ctx.serve(rep, async (frames) => {
      try {
        const ping = decodePing(frames);
        await rep.send(encodePong(ping.seq, ctx.role));
      } catch (error) {
        // A REP socket must answer every request before it can take the next one.
        if (error instanceof BadMessageError) await rep.send(encodeRefusal(error.reason));
        throw error; // serve() logs it as bad_message and goes on
      }
    }, { name: "rep" });
  },
});
