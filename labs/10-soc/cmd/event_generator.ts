/**
 * event_generator: replays the deterministic SOC scenario (internal/scenario.ts). Each event
 * is scored by the anomaly detector over Lazy Pirate REQ (a dead or restarting detector is
 * retried; a 503 "intel incomplete" waits and asks again) and every finding is pushed into
 * the alert pipeline as an alert with a stable id (`<event id>:<rule>`), so retries never
 * make a second alert downstream.
 *
 * @module
 */

import { AbortedError, LazyPirateClient, NoReplyError, zmqReqFactory } from "@lib/patterns/mod.ts";
import { endpoint, float, int, runRole, terminalFrame } from "@lib/role/mod.ts";
import { Push } from "@lib/zmq/mod.ts";
import { type Alert, decodeVerdict, encodeBody, MAX_BODY_BYTES } from "../internal/protocol.ts";
import { buildScenario, SCENARIO_START_MS } from "../internal/scenario.ts";

interface Options {
  detector: string;
  alerts: string;
  seed: number;
  background: number;
  rate: number;
  loop: boolean;
  timeout: number;
  retries: number;
  notReadyWait: number;
}

await runRole<Options>({
  name: "event_generator",
  summary: "Replays the SOC scenario: detector REQ (Lazy Pirate), alerts PUSHed to the router",
  configure: (cmd) =>
    cmd
      .option("--detector <endpoint>", "anomaly detector REP", endpoint, "tcp://127.0.0.1:5611")
      .option("--alerts <endpoint>", "alert router PULL", endpoint, "tcp://127.0.0.1:5612")
      .option("--seed <n>", "seed of the background traffic", int({ min: 0 }), 10)
      .option("--background <n>", "background events per round", int({ min: 0 }), 300)
      .option(
        "--rate <events/s>",
        "events per second (0 = as fast as answered)",
        float({ min: 0 }),
        0,
      )
      .option("--loop", "replay round after round (new ids, later times) until stopped", false)
      .option("--timeout <ms>", "wait per attempt for the detector", int({ min: 10 }), 1000)
      .option("--retries <n>", "attempts per event before giving up", int({ min: 1 }), 120)
      .option(
        "--not-ready-wait <ms>",
        "pause after a 503 (intel incomplete)",
        int({ min: 1 }),
        250,
      ),
  async run(options, ctx) {
    const push = new Push({ linger: 10_000, maxMessageSize: MAX_BODY_BYTES });
    ctx.defer(() => push.close());
    push.connect(options.alerts);
    const client = new LazyPirateClient({
      connect: zmqReqFactory({
        endpoint: options.detector,
        socket: { maxMessageSize: MAX_BODY_BYTES },
      }),
      timeoutMs: options.timeout,
      retries: options.retries,
      signal: ctx.signal,
      onRetry: (info) => {
        stats.retries++;
        ctx.log.limited(
          "warn",
          "detector_retry",
          { attempt: info.attempt, of: info.attempts },
          "retry",
        );
      },
    });
    ctx.defer(() => client.close());
    const stats = {
      round: 0,
      events: 0,
      total: 0,
      alerts: 0,
      retries: 0,
      not_ready: 0,
      refused: 0,
    };
    const tty = Deno.stdout.isTerminal();
    let drawn = 0;
    ctx.every(tty ? 500 : 0, () => {
      const frame = terminalFrame([
        `event_generator  round ${stats.round}  events ${stats.events}/${stats.total}  alerts ${stats.alerts}  retries ${stats.retries}  503s ${stats.not_ready}`,
      ], { mode: "ansi", previousLines: drawn });
      drawn = frame.lines;
      ctx.print(frame.text);
    });
    const span = 3_600_000; // each looping round is an hour of event time later
    while (!ctx.signal.aborted) {
      stats.round++;
      const events = buildScenario({
        // A new seed per round: replaying the same background an hour later would make
        // every host→dst pair a perfect hourly "beacon".
        seed: options.seed + stats.round - 1,
        background: options.background,
        idPrefix: options.loop ? `r${stats.round}-` : "",
        offsetMs: (stats.round - 1) * span,
      });
      stats.events = 0;
      stats.total = events.length;
      const started = performance.now();
      for (const event of events) {
        if (ctx.signal.aborted) break;
        for (;;) {
          let reply: Uint8Array[];
          try {
            reply = await client.request([encodeBody(event)]);
          } catch (error) {
            if (error instanceof AbortedError) break;
            if (error instanceof NoReplyError) {
              ctx.log.error("detector_unreachable", {
                event_id: event.id,
                attempts: options.retries,
              });
              ctx.exitCode = 1;
              return;
            }
            throw error;
          }
          const verdict = decodeVerdict(reply);
          if (verdict.status === 503) {
            stats.not_ready++;
            await ctx.sleep(options.notReadyWait);
            if (ctx.signal.aborted) break;
            continue;
          }
          if (verdict.status === 400) {
            stats.refused++;
            ctx.log.warn("event_refused", { event_id: event.id, detail: verdict.detail });
          }
          for (const f of verdict.findings) {
            const alert: Alert = {
              alert_id: `${event.id}:${f.rule}`,
              event_id: event.id,
              ts: event.ts,
              host: event.host,
              rule: f.rule,
              severity: f.severity,
              reason: f.reason,
            };
            await push.send(encodeBody(alert));
            stats.alerts++;
            ctx.log.info("alert_sent", { alert_id: alert.alert_id, severity: f.severity });
          }
          break;
        }
        stats.events++;
        if (options.rate > 0) {
          const due = started + (stats.events * 1000) / options.rate;
          await ctx.sleep(Math.max(0, due - performance.now()));
        }
      }
      if (ctx.signal.aborted) break;
      ctx.log.info("scenario_done", {
        ...stats,
        event_time_start: new Date(SCENARIO_START_MS + (stats.round - 1) * span).toISOString(),
      });
      if (!options.loop) return;
    }
  },
});
