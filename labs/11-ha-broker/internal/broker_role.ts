/**
 * The role both brokers run (`ha_broker_primary`, `ha_broker_backup`): the Guide's
 * `bstarsrv` with its sockets (ROUTER frontend for clients, PUB for our state beacons, SUB
 * for the peer's) around `BinaryStar` from `@lib/patterns`, serving the echo service
 * (`echo_service.ts`) while active. The two roles differ only in their half and their
 * default endpoints, which mirror the Guide's 5001..5004 as 5511..5514.
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { BinaryStar } from "@lib/patterns/mod.ts";
import { endpoint, int, runRole } from "@lib/role/mod.ts";
import { Publisher, Router, Subscriber } from "@lib/zmq/mod.ts";
import { echoReply, MAX_REQUEST_BYTES } from "./echo_service.ts";

interface Options {
  frontend: string;
  stateBind: string;
  peer: string;
  heartbeat: number;
  statsInterval: number;
  outageAfter: number;
  outageFor: number;
}

/** Default endpoints of each half (the Guide's layout: 5001/5002 clients, 5003/5004 state). */
export const DEFAULTS = {
  primary: {
    frontend: "tcp://127.0.0.1:5511",
    stateBind: "tcp://127.0.0.1:5513",
    peer: "tcp://127.0.0.1:5514",
  },
  backup: {
    frontend: "tcp://127.0.0.1:5512",
    stateBind: "tcp://127.0.0.1:5514",
    peer: "tcp://127.0.0.1:5513",
  },
} as const;

/**
 * Runs one half of the pair as a role (the whole `cmd/ha_broker_<half>.ts`).
 *
 * @example
 * ```ts
 * import { runHaBroker } from "./broker_role.ts";
 * await runHaBroker("backup");
 * ```
 */
export async function runHaBroker(half: "primary" | "backup"): Promise<void> {
  const defaults = DEFAULTS[half];
  await runRole<Options>({
    name: `ha_broker_${half}`,
    summary: half === "primary"
      ? "Binary Star primary: serves the echo service while active, beacons its state to the backup"
      : "Binary Star backup: passive until the primary is silent for 2 heartbeats and a client comes",
    configure: (cmd) =>
      cmd
        .option(
          "--frontend <endpoint>",
          "ROUTER endpoint to bind for clients",
          endpoint,
          defaults.frontend,
        )
        .option(
          "--state-bind <endpoint>",
          "PUB endpoint to bind for our state beacons",
          endpoint,
          defaults.stateBind,
        )
        .option(
          "--peer <endpoint>",
          "the peer's state PUB endpoint (our SUB connects)",
          endpoint,
          defaults.peer,
        )
        .option(
          "--heartbeat <ms>",
          "beacon interval; the peer is dead after 2 (the Guide's 1000; both halves must agree)",
          int({ min: 10, max: 600_000 }),
          1000,
        )
        .option(
          "--stats-interval <ms>",
          "log a stats event this often (0 = never)",
          int({ min: 0 }),
          10_000,
        )
        .option(
          "--outage-after <ms>",
          "demo: play dead after this long (no beacons, no replies, input dropped; 0 = never)",
          int({ min: 0 }),
          0,
        )
        .option(
          "--outage-for <ms>",
          "demo: how long the outage lasts, then start over as a restarted process would",
          int({ min: 1 }),
          6000,
        ),
    async run(options, ctx) {
      const frontend = new Router({
        maxMessageSize: MAX_REQUEST_BYTES,
        receiveHighWaterMark: 1000,
        sendHighWaterMark: 1000,
      });
      await frontend.bind(options.frontend);
      ctx.listening(frontend, { socket: "frontend" });
      const statePub = new Publisher({ linger: 0 });
      await statePub.bind(options.stateBind);
      ctx.listening(statePub, { socket: "state" });
      // A beacon is one digit: anything bigger is garbage, dropped by libzmq.
      const stateSub = new Subscriber({ maxMessageSize: 256 });
      stateSub.subscribe();
      stateSub.connect(options.peer);

      let beaconsDropped = 0;
      let outageDropped = 0;
      let replyFailures = 0;
      const newStar = () =>
        new BinaryStar({
          clock: systemClock,
          log: ctx.log,
          role: half,
          heartbeatMs: options.heartbeat,
          // A full queue drops this beacon; the next one follows a heartbeat later.
          send: (frames) => void statePub.send(frames).catch(() => beaconsDropped++),
        });
      let star = newStar();
      ctx.log.info("binary_star", { half, state: star.state, heartbeat_ms: options.heartbeat });
      let dead = false;
      let broken!: (reason: string) => void;
      const fatal = new Promise<string>((resolve) => (broken = resolve));

      // Ticks a tenth of a heartbeat apart: beacons go out at most 10 % late.
      ctx.every(Math.max(5, Math.floor(options.heartbeat / 10)), () => {
        if (!dead) star.tick(systemClock.now());
      });
      ctx.every(options.statsInterval, () =>
        ctx.log.info("stats", {
          ...star.stats(),
          beaconsDropped,
          outageDropped,
          replyFailures,
        }));

      const serving = Promise.all([
        ctx.serve(stateSub, (frames) => {
          if (dead) return void outageDropped++;
          star.onMessage(frames); // a bad beacon throws BadMessageError -> bad_message
          if (star.fatal) broken(star.fatal);
        }, { name: "state" }),
        ctx.serve(frontend, async (frames) => {
          if (dead) return void outageDropped++;
          // Garbage is dropped before the vote: it is not a client asking to be served.
          const reply = echoReply(frames);
          if (!star.clientRequest()) {
            ctx.log.limited("info", "request_rejected", {
              state: star.state,
              peer_expired: star.peerExpired(),
            });
            return;
          }
          await frontend.send(reply).catch(() => replyFailures++);
        }, { name: "frontend" }),
      ]);

      if (options.outageAfter > 0) {
        (async () => {
          await ctx.sleep(options.outageAfter);
          if (ctx.signal.aborted) return;
          dead = true;
          ctx.log.warn("outage_started", { state: star.state, for_ms: options.outageFor });
          await ctx.sleep(options.outageFor);
          if (ctx.signal.aborted) return;
          // As a restarted process: a fresh machine in PRIMARY/BACKUP, the peer unknown.
          star = newStar();
          dead = false;
          ctx.log.warn("outage_ended", { state: star.state });
        })();
      }

      const reason = await Promise.race([ctx.stopped.then(() => undefined), fatal, serving]);
      if (typeof reason === "string") {
        // The Guide aborts: the pair cannot resolve this by itself (see SUMMARY.md).
        throw new Error(`${reason}: aborting, as the Guide's Binary Star does`);
      }
      ctx.log.info("drained", { ...star.stats(), beaconsDropped, outageDropped, replyFailures });
    },
  });
}
