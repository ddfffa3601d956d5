/**
 * alert_router: the alert pipeline's middle stage (PULL in, two PUSH out). Drops duplicate
 * alert ids (a retried event makes the same id) and routes by severity: `--urgent-from` and
 * above to the urgent channel, the rest to the routine one.
 *
 * @module
 */

import { endpoint, int, oneOf, runRole } from "@lib/role/mod.ts";
import { InFlight } from "@lib/patterns/mod.ts";
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
    const delivery = { routed: 0, undelivered: 0 };
    ctx.every(
      options.statsInterval,
      () => ctx.log.info("stats", { ...router.counts, ...delivery }),
    );
    // Sends in flight: a sink that is down holds them here (bounded by sendQueueLimit), and
    // a stop waits for them within the drain budget instead of blocking the shutdown.
    const inFlight = new InFlight<number>();
    const sending = new Set<Promise<void>>();
    let next = 0;
    await ctx.serve(pull, async (frames) => {
      const alert = decodeAlert(frames);
      const route = router.route(alert);
      if (route === "duplicate") {
        ctx.log.limited("info", "duplicate_dropped", { alert_id: alert.alert_id }, "dup");
        return;
      }
      const id = next++;
      inFlight.add(id);
      const sent: Promise<void> = out[route].send(encodeBody(alert)).then(() => {
        delivery.routed++;
        ctx.log.debug("alert_routed", { alert_id: alert.alert_id, channel: route });
      }, () => {
        delivery.undelivered++;
        ctx.log.limited(
          "warn",
          "alert_undelivered",
          { alert_id: alert.alert_id, channel: route },
          route,
        );
      }).finally(() => {
        inFlight.done(id);
        sending.delete(sent);
      });
      sending.add(sent);
      // Backpressure: with 500 alerts waiting for a sink, the next one waits for a send.
      if (sending.size >= 500) await Promise.race([Promise.race(sending), ctx.stopped]);
    }, { name: "alerts" });
    await ctx.drain(() => inFlight.whenSettled(), { what: "alerts to the sink" });
    ctx.log.info("router_stats", { ...router.counts, ...delivery, pending: inFlight.size });
  },
});
