/**
 * alert_router: the alert pipeline's middle stage (PULL in, two PUSH out). Drops duplicate
 * alert ids (a retried event makes the same id) and routes by severity: `--urgent-from` and
 * above to the urgent channel, the rest to the routine one.
 *
 * @module
 */

import { endpoint, int, oneOf, runRole } from "@lib/role/mod.ts";
import { Pull, Push } from "@lib/zmq/mod.ts";
import { AlertRouter } from "../internal/alert_routing.ts";
import {
  decodeAlert,
  encodeBody,
  MAX_BODY_BYTES,
  SEVERITIES,
  type Severity,
} from "../internal/protocol.ts";

interface Options {
  bind: string;
  urgent: string;
  routine: string;
  urgentFrom: Severity;
  memory: number;
  statsInterval: number;
}

await runRole<Options>({
  name: "alert_router",
  summary: "PULL alerts, drop duplicate ids, PUSH urgent (>= high) and routine alerts apart",
  configure: (cmd) =>
    cmd
      .option("--bind <endpoint>", "PULL endpoint for alerts", endpoint, "tcp://127.0.0.1:5612")
      .option(
        "--urgent <endpoint>",
        "PUSH endpoint of urgent alerts",
        endpoint,
        "tcp://127.0.0.1:5613",
      )
      .option(
        "--routine <endpoint>",
        "PUSH endpoint of routine alerts",
        endpoint,
        "tcp://127.0.0.1:5614",
      )
      .option("--urgent-from <severity>", "lowest urgent severity", oneOf(...SEVERITIES), "high")
      .option("--memory <n>", "alert ids remembered for dedup", int({ min: 1 }), 100_000)
      .option("--stats-interval <ms>", "stats log interval (0 = off)", int({ min: 0 }), 10_000),
  async run(options, ctx) {
    const pull = new Pull({ maxMessageSize: MAX_BODY_BYTES });
    ctx.defer(() => pull.close());
    const out = {
      urgent: new Push({ linger: 10_000 }),
      routine: new Push({ linger: 10_000 }),
    };
    ctx.defer(() => out.urgent.close());
    ctx.defer(() => out.routine.close());
    await out.urgent.bind(options.urgent);
    await out.routine.bind(options.routine);
    await pull.bind(options.bind);
    ctx.listening(pull);
    const router = new AlertRouter(options.urgentFrom, options.memory);
    ctx.every(options.statsInterval, () => ctx.log.info("stats", router.counts));
    await ctx.serve(pull, async (frames) => {
      const alert = decodeAlert(frames);
      const route = router.route(alert);
      if (route === "duplicate") {
        ctx.log.limited("info", "duplicate_dropped", { alert_id: alert.alert_id }, "dup");
        return;
      }
      // Awaited: a sink that is down holds alerts here (up to the HWM), it does not lose them.
      await out[route].send(encodeBody(alert));
      ctx.log.info("alert_routed", { alert_id: alert.alert_id, channel: route });
    }, { name: "alerts" });
    ctx.log.info("router_stats", router.counts);
  },
});
