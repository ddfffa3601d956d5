/**
 * monitored_broker: a ROUTER (frontend, clients) <-> DEALER (backend, workers) hub that
 * pumps messages by hand (no zmq_proxy) and shows its traffic: counters, latency
 * histograms and per-peer stats on a Prometheus endpoint and in `stats` log events, a
 * capture PUB for observers (drops, never blocks), and a `zmq_proxy_steerable` control
 * socket (PAUSE/RESUME/TERMINATE/STATISTICS).
 *
 * @module
 */
import { systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import { byteSize, ConfigError, int, oneOf, Option, runRole } from "@lib/role/mod.ts";
import { Dealer, Pair, Publisher, Reply, Router, type Socket } from "@lib/zmq/mod.ts";
import { encodeStatistics, parseControl } from "../internal/control.ts";
import { ObservableProxy } from "../internal/observable_proxy.ts";
import { endpointOrOff, type ListenAddress, listenAddress } from "../internal/options.ts";

interface Options {
  frontend: string;
  backend: string;
  capture: string;
  control: string;
  controlType: "rep" | "pair";
  metrics: ListenAddress | null;
  statsInterval: number;
  maxPeers: number;
  maxPending: number;
  top: number;
  hwm: number;
  captureHwm: number;
  maxFrameBytes: number;
}

await runRole<Options>({
  name: "monitored_broker",
  summary: "Manual ROUTER-DEALER proxy with metrics, capture and a steerable control socket",
  configure: (cmd) =>
    cmd
      .option(
        "--frontend <endpoint>",
        "ROUTER endpoint to bind (clients)",
        endpointOrOff,
        "tcp://127.0.0.1:5620",
      )
      .option(
        "--backend <endpoint>",
        "DEALER endpoint to bind (workers)",
        endpointOrOff,
        "tcp://127.0.0.1:5621",
      )
      .option(
        "--capture <endpoint>",
        "capture PUB endpoint to bind, or off",
        endpointOrOff,
        "tcp://127.0.0.1:5622",
      )
      .option(
        "--control <endpoint>",
        "control socket endpoint to bind, or off",
        endpointOrOff,
        "tcp://127.0.0.1:5623",
      )
      .option(
        "--control-type <type>",
        "control socket type (rep answers every command)",
        oneOf("rep", "pair"),
        "rep",
      )
      .addOption(
        new Option("--metrics <host:port>", "Prometheus /metrics listen address, or off")
          .argParser(listenAddress)
          .default(listenAddress("127.0.0.1:9464"), "127.0.0.1:9464"),
      )
      .option(
        "--stats-interval <ms>",
        "period of the `stats` log event (0 = only at exit)",
        int({ min: 0 }),
        5000,
      )
      .option(
        "--max-peers <n>",
        "frontend identities tracked (bounded table)",
        int({ min: 1 }),
        1024,
      )
      .option(
        "--max-pending <n>",
        "requests per identity remembered for round trips",
        int({ min: 1 }),
        64,
      )
      .option(
        "--top <n>",
        "top talkers exported per scrape and logged",
        int({ min: 0, max: 1000 }),
        10,
      )
      .option(
        "--hwm <n>",
        "send/receive high-water mark of frontend and backend",
        int({ min: 1 }),
        1000,
      )
      .option(
        "--capture-hwm <n>",
        "send high-water mark per capture subscriber (then drops)",
        int({ min: 1 }),
        1000,
      )
      .option(
        "--max-frame-bytes <size>",
        "largest frame accepted (libzmq drops a peer sending more)",
        byteSize,
        16 * 1024 * 1024,
      ),
  validate(options) {
    if (options.frontend === "" || options.backend === "") {
      throw new ConfigError("expected --frontend and --backend endpoints, got off");
    }
  },
  async run(options, ctx) {
    const sockets = {
      maxMessageSize: options.maxFrameBytes,
      sendHighWaterMark: options.hwm,
      receiveHighWaterMark: options.hwm,
    };
    const frontend = new Router(sockets);
    const backend = new Dealer(sockets);
    // noDrop: a full subscriber makes the send fail at once (EAGAIN), which is counted as
    // a capture drop; a plain PUB would drop silently.
    const capture = options.capture
      ? new Publisher({ noDrop: true, sendHighWaterMark: options.captureHwm, linger: 0 })
      : undefined;
    const control = options.control
      ? (options.controlType === "rep" ? new Reply({ linger: 0 }) : new Pair({ linger: 0 }))
      : undefined;
    const all: [string, Socket][] = [["frontend", frontend], ["backend", backend]];
    if (capture) all.push(["capture", capture]);
    if (control) all.push(["control", control]);
    for (const [, s] of all) ctx.defer(() => s.close());

    let terminate: () => void = () => {};
    const terminated = new Promise<void>((resolve) => (terminate = resolve));
    const proxy = new ObservableProxy({
      clock: systemClock,
      log: ctx.log,
      toBackend: { trySend: (f) => backend.sendSync(f), send: (f) => backend.send(f) },
      toFrontend: { trySend: (f) => frontend.sendSync(f), send: (f) => frontend.send(f) },
      capture: capture ? (f) => capture.sendSync(f) : undefined,
      maxPeers: options.maxPeers,
      maxPendingPerPeer: options.maxPending,
      onTerminate: () => terminate(),
    });
    ctx.defer(() => proxy.close());

    // A peer that fails the ZMTP handshake (garbage bytes, wrong mechanism) is bad input.
    for (const [name, s] of all) {
      (async () => {
        for await (const e of s.events) {
          if (e.type.startsWith("handshake:error")) {
            proxy.countBad(name);
            ctx.badMessage("zmtp handshake failed", {
              socket: name,
              zmq_event: e.type,
              error: "error" in e ? String(e.error?.message ?? e.error) : "",
            });
          }
        }
      })().catch(() => {});
    }

    await frontend.bind(options.frontend);
    ctx.listening(frontend, { socket: "frontend" });
    await backend.bind(options.backend);
    ctx.listening(backend, { socket: "backend" });
    if (capture) {
      await capture.bind(options.capture);
      ctx.listening(capture, { socket: "capture" });
    }
    if (control) {
      await control.bind(options.control);
      ctx.listening(control, { socket: "control", type: options.controlType });
    }
    let server: Deno.HttpServer | undefined;
    if (options.metrics) {
      const listened = Promise.withResolvers<void>();
      server = Deno.serve({
        hostname: options.metrics.hostname,
        port: options.metrics.port,
        onListen: ({ hostname, port }) => {
          ctx.listening(`http://${hostname}:${port}/metrics`, { socket: "metrics" });
          listened.resolve();
        },
        onError: (error) => {
          ctx.log.limited("error", "metrics_error", { error: String(error) });
          return new Response("internal error\n", { status: 500 });
        },
      }, (request) => {
        const url = new URL(request.url);
        if (request.method === "GET" && url.pathname === "/metrics") {
          return new Response(proxy.metricsText(options.top), {
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
          });
        }
        proxy.countBad("metrics");
        ctx.badMessage("unknown metrics request", {
          socket: "metrics",
          method: request.method,
          path: url.pathname.slice(0, 64),
        });
        return new Response("not found: GET /metrics\n", { status: 404 });
      });
      ctx.defer(() => server?.shutdown());
      await listened.promise;
    }
    ctx.log.info("broker_configured", {
      max_peers: options.maxPeers,
      max_pending: options.maxPending,
      hwm: options.hwm,
      capture_hwm: options.captureHwm,
      control_type: control ? options.controlType : "off",
    });
    ctx.every(options.statsInterval, () => ctx.log.info("stats", { ...proxy.stats(options.top) }));

    const empty = new Uint8Array(0);
    const loops = [
      ctx.serve(frontend, (f) => proxy.fromFrontend(f), { name: "frontend", untilClosed: true }),
      ctx.serve(backend, (f) => proxy.fromBackend(f), { name: "backend", untilClosed: true }),
    ];
    if (control) {
      const rep = options.controlType === "rep";
      loops.push(ctx.serve(control, async (frames) => {
        let command;
        try {
          command = parseControl(frames);
        } catch (error) {
          if (error instanceof BadMessageError) proxy.countBad("control");
          if (rep) await control.send(empty); // REP must answer, as libzmq does for any command
          throw error;
        }
        proxy.control(command);
        ctx.log.info("control_command", { command });
        if (command === "STATISTICS") await control.send(encodeStatistics(proxy.statistics()));
        else if (rep) await control.send(empty);
      }, { name: "control", untilClosed: true }));
    }

    // Stop: SIGINT/SIGTERM or TERMINATE. Requests stop, replies drain, then sockets close.
    await Promise.race([ctx.stopped, terminated]);
    proxy.stopRequests();
    ctx.log.info("draining", { pending_requests: proxy.pendingRequests });
    await ctx.drain((signal) => proxy.whenRepliesSettled(signal), { what: "replies" });
    proxy.close();
    await server?.shutdown();
    for (const [, s] of all) s.close();
    await Promise.allSettled(loops);
    ctx.log.info("stats", { ...proxy.stats(options.top) });
  },
});
