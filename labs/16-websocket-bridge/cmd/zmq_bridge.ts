/**
 * zmq_bridge: subscribes to ZeroMQ PUB endpoints (by default Lab 04's telemetry, at the
 * `lvc_broker` backend `tcp://127.0.0.1:5542`) and streams the updates to browsers over
 * WebSocket (`Deno.serve` + `Deno.upgradeWebSocket`); serves `web_client.html` itself. Each
 * browser picks topic prefixes (reference-counted ZeroMQ subscriptions), gets a conflated
 * latest-value stream when it falls behind (or is closed with 4408), and resumes from its
 * last sequence number out of a bounded replay ring after a reconnect. Upgrades need the
 * token and an allowed `Origin`. The core is `internal/bridge.ts`; this file is wiring.
 *
 * @module
 */

import { delay, systemClock } from "@lib/async/mod.ts";
import { BadMessageError } from "@lib/codec/mod.ts";
import {
  byteSizeIn,
  ConfigError,
  endpoint,
  int,
  InvalidArgumentError,
  type Logger,
  Option,
  repeatable,
  runRole,
  SecretArgumentError,
  terminalFrame,
  writableFile,
} from "@lib/role/mod.ts";
import { type SocketEvent, Subscriber } from "@lib/zmq/mod.ts";
import WEB_CLIENT_HTML from "../web_client.html" with { type: "text" };
import { Bridge } from "../internal/bridge.ts";
import { MAX_TOPIC_LENGTH } from "../internal/protocol.ts";
import { parseSnapshot, type RingSnapshot } from "../internal/replay_ring.ts";
import { checkOrigin, listenAddress, tokenMatches } from "../internal/upgrade.ts";
import { renderView } from "../internal/view.ts";

interface Options {
  listen: { hostname: string; port: number };
  connect: string[];
  topic: string[];
  authSecret?: string;
  allowOrigin: string[];
  highWater: number;
  hardWater: number;
  lowWater: number;
  maxPendingTopics: number;
  slowTimeout: number;
  pingInterval: number;
  pingTimeout: number;
  ring: number;
  ringBytes: number;
  maxClients: number;
  maxPayload: number;
  receiveHwm: number;
  state?: string;
  flushInterval: number;
  refresh: number;
  json: boolean;
}

/** Delay before (declared before `await runRole`: module code after it runs only at exit) an upstream that disconnected is dialled again. */
const REDIAL_MS = 1000;
/** Upstream events that end a redial wait (a disconnect starts one; `close` is neither). */
const LIFE = new Set(["disconnect", "connect", "connect:delay", "connect:retry", "handshake"]);

function secretToken(value: string): string {
  if (!/^[\x21-\x7e]{8,128}$/.test(value)) {
    throw new SecretArgumentError(`expected 8-128 printable ASCII characters, got ${value.length}`);
  }
  return value;
}

function origin(value: string): string {
  if (!/^https?:\/\/[^/\s]+$/.test(value)) {
    throw new InvalidArgumentError(
      `expected an origin like http://127.0.0.1:5516 (scheme://host[:port]), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function topicPrefix(value: string): string {
  if (value.length > MAX_TOPIC_LENGTH) {
    throw new InvalidArgumentError(
      `expected a prefix of at most ${MAX_TOPIC_LENGTH} characters, got ${value.length}`,
    );
  }
  return value === "*" ? "" : value;
}

await runRole<Options>({
  name: "zmq_bridge",
  summary: "ZeroMQ SUB → WebSocket bridge: serves web_client.html, topic picks, conflation, resume",
  configure: (cmd) =>
    cmd
      .addOption(
        new Option("--listen <host:port>", "HTTP/WebSocket address (port 0: any)")
          .argParser(listenAddress)
          .default(listenAddress("127.0.0.1:5516"), "127.0.0.1:5516"),
      )
      .option(
        "--connect <endpoint>",
        "ZeroMQ PUB/XPUB endpoint to subscribe to",
        repeatable(endpoint, { defaultText: "tcp://127.0.0.1:5542 (Lab 04's lvc_broker)" }),
      )
      .option(
        "--topic <prefix>",
        "prefix the bridge always holds, * = all (kept in the replay ring with no browser connected)",
        repeatable(topicPrefix),
        [],
      )
      .option(
        "--auth-secret <token>",
        "token a WebSocket upgrade must carry (?token=); default: a random one, printed in the URL",
        secretToken,
      )
      .option(
        "--allow-origin <origin>",
        "Origin allowed to open a WebSocket",
        repeatable(origin, {
          defaultText: "the bridge's own http://127.0.0.1|localhost:<port>",
        }),
      )
      .option(
        "--high-water <bytes>",
        "a client's unsent bytes, between event-loop turns, at which it is conflated",
        byteSizeIn({ min: 1024 }),
        256 * 1024,
      )
      .option(
        "--hard-water <bytes>",
        "a client's unsent bytes at any send at which it is conflated at once",
        byteSizeIn({ min: 1024 }),
        4 * 1024 * 1024,
      )
      .option(
        "--low-water <bytes>",
        "unsent bytes under which conflated values flow again",
        byteSizeIn({ min: 0 }),
        64 * 1024,
      )
      .option(
        "--max-pending-topics <n>",
        "most topics held per conflating client (one more closes it, 4408)",
        int({ min: 1 }),
        10_000,
      )
      .option(
        "--slow-timeout <ms>",
        "conflating without progress this long closes the client (4408)",
        int({ min: 10 }),
        10_000,
      )
      .option("--ping-interval <ms>", "ping each client this often", int({ min: 10 }), 5000)
      .option(
        "--ping-timeout <ms>",
        "close a client without pong this long",
        int({ min: 10 }),
        20_000,
      )
      .option("--ring <n>", "replay ring: most updates kept", int({ min: 1 }), 10_000)
      .option(
        "--ring-bytes <bytes>",
        "replay ring: most bytes kept",
        byteSizeIn({ min: 1024 }),
        16 * 1024 * 1024,
      )
      .option("--max-clients <n>", "most WebSocket clients (503 beyond)", int({ min: 1 }), 1000)
      .option(
        "--max-payload <bytes>",
        "largest ZeroMQ payload accepted",
        byteSizeIn({ min: 16 }),
        64 * 1024,
      )
      .option("--receive-hwm <n>", "SUB receive high-water mark", int({ min: 1 }), 100_000)
      .option(
        "--state <file>",
        "keep the replay ring (epoch, seq) here across restarts (written on stop)",
        writableFile,
      )
      .option("--flush-interval <ms>", "backpressure/ping timer period", int({ min: 1 }), 20)
      .option("--refresh <ms>", "live view period", int({ min: 50 }), 1000)
      .option("--json", "print stats as JSON lines instead of the live view", false),
  validate: (o) => {
    if (o.lowWater > o.highWater || o.highWater > o.hardWater) {
      throw new ConfigError("expected --low-water <= --high-water <= --hard-water");
    }
    if (o.pingTimeout <= o.pingInterval) {
      throw new ConfigError("--ping-timeout must exceed --ping-interval");
    }
  },
  async run(options, ctx) {
    const connects = options.connect.length > 0 ? options.connect : ["tcp://127.0.0.1:5542"];
    const token = options.authSecret ?? randomToken();
    let restore: RingSnapshot | undefined;
    if (options.state) restore = await loadState(options.state, ctx.log);

    const sockets = new Map<number, WebSocket>();
    const sub = new Subscriber({
      linger: 0,
      receiveHighWaterMark: options.receiveHwm,
      maxMessageSize: options.maxPayload + 4096,
    });
    ctx.defer(() => sub.close());
    const bridge = new Bridge({
      highWater: options.highWater,
      hardWater: options.hardWater,
      lowWater: options.lowWater,
      maxTopics: options.maxPendingTopics,
      slowTimeoutMs: options.slowTimeout,
      ringCapacity: options.ring,
      ringBytes: options.ringBytes,
      maxPrefixes: 10_000,
      pingIntervalMs: options.pingInterval,
      pingTimeoutMs: options.pingTimeout,
      helloTimeoutMs: 10_000,
      limits: { maxPayloadBytes: options.maxPayload },
      topics: options.topic,
      restore,
      epoch: crypto.randomUUID().slice(0, 8),
    }, {
      now: () => systemClock.now(),
      subscribe: (prefix) => {
        sub.subscribe(prefix);
        ctx.log.info("zmq_subscribe", { prefix });
      },
      unsubscribe: (prefix) => {
        sub.unsubscribe(prefix);
        ctx.log.info("zmq_unsubscribe", { prefix });
      },
      send: (id, text) => {
        const ws = sockets.get(id);
        if (ws?.readyState === WebSocket.OPEN) ws.send(text);
      },
      buffered: (id) => sockets.get(id)?.bufferedAmount ?? 0,
      close: (id, code, reason) => {
        try {
          sockets.get(id)?.close(code, reason);
        } catch { /* already closing */ }
      },
      badMessage: (reason, fields) => ctx.badMessage(reason, { socket: "websocket", ...fields }),
      event: (name, fields) => ctx.log.info(name, fields),
    });
    ctx.log.info("ring", { epoch: bridge.epoch, restored: restore !== undefined });
    // libzmq drops a connection on a protocol error (a frame over --max-payload is one, and a
    // publisher can send anything) and, unlike a lost connection, never dials it again: the
    // bridge would go deaf to that endpoint for good. A lost connection is followed at once by
    // libzmq's own `connect:retry`; a disconnect with no sign of life from that endpoint
    // within REDIAL_MS is the protocol-error case, and the bridge dials the endpoint afresh.
    const events = sub.events.consumer();
    ctx.defer(() => events.close());
    const pending = new Map<string, ReturnType<typeof setTimeout>>(); // endpoint → redial timer
    const endpointsOf = (address: string) => {
      if (connects.includes(address)) return [address];
      const port = /:(\d+)$/.exec(address)?.[1];
      const same = connects.filter((ep) => port !== undefined && ep.endsWith(`:${port}`));
      return same.length > 0 ? same : connects;
    };
    const watch = (event: SocketEvent) => {
      if (!LIFE.has(event.type) || !("address" in event) || ctx.signal.aborted) return;
      for (const ep of endpointsOf(event.address)) {
        clearTimeout(pending.get(ep));
        pending.delete(ep);
        if (event.type !== "disconnect") continue;
        pending.set(
          ep,
          setTimeout(() => {
            pending.delete(ep);
            if (ctx.signal.aborted) return;
            try {
              sub.disconnect(ep); // libzmq still lists the dead endpoint: a connect alone is a no-op
            } catch { /* not listed */ }
            try {
              sub.connect(ep);
              ctx.log.limited("warn", "upstream_redial", { endpoint: ep });
            } catch (error) {
              ctx.log.limited("error", "upstream_redial_failed", {
                endpoint: ep,
                error: String(error),
              });
            }
          }, REDIAL_MS),
        );
      }
    };
    ctx.defer(() => pending.forEach((timer) => clearTimeout(timer)));
    (async () => {
      for await (const event of events) watch(event);
    })().catch(() => {});
    for (const ep of connects) sub.connect(ep);
    ctx.log.info("connecting", { endpoints: connects, topics: options.topic });

    let nextId = 1;
    let allowed = new Set<string>();
    let url = "";
    const listened = Promise.withResolvers<void>();
    const serve = (handler: Deno.ServeHandler<Deno.NetAddr>) => {
      try {
        return Deno.serve(serveOptions, handler);
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
        const { hostname, port } = options.listen;
        throw new Error(`cannot listen on ${hostname}:${port}: address already in use`);
      }
    };
    const serveOptions: Deno.ServeTcpOptions = {
      hostname: options.listen.hostname,
      port: options.listen.port,
      onListen: ({ hostname, port }) => {
        const host = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname;
        url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/`;
        allowed = new Set(
          options.allowOrigin.length > 0 ? options.allowOrigin : [
            `http://${host}:${port}`,
            `http://127.0.0.1:${port}`,
            `http://localhost:${port}`,
          ],
        );
        ctx.listening(url, { socket: "http", websocket: `ws://${url.slice(7)}ws` });
        listened.resolve();
      },
      onError: (error) => {
        ctx.log.limited("error", "http_error", { error: String(error) });
        return new Response("internal error\n", { status: 500 });
      },
    };
    const server = serve((request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
      const path = new URL(request.url).pathname;
      if (request.method === "GET" && (path === "/" || path === "/web_client.html")) {
        return new Response(WEB_CLIENT_HTML, {
          headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
        });
      }
      if (path !== "/ws") return new Response("not found\n", { status: 404 });
      const origin = request.headers.get("origin");
      const remote = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
      const refuse = (status: number, reason: string) => {
        ctx.log.limited("warn", "upgrade_refused", { status, reason, remote, origin }, reason);
        return new Response(`${reason}\n`, { status });
      };
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return refuse(426, "not a websocket upgrade");
      }
      if (!checkOrigin(origin, allowed)) return refuse(403, "origin not allowed");
      if (!tokenMatches(new URL(request.url).searchParams.get("token"), token)) {
        return refuse(401, "bad token");
      }
      if (sockets.size >= options.maxClients || ctx.signal.aborted) {
        return refuse(503, "too many clients");
      }
      const { socket, response } = Deno.upgradeWebSocket(request, {
        idleTimeout: Math.ceil(options.pingTimeout / 1000),
      });
      const id = nextId++;
      sockets.set(id, socket);
      // A handler error must not become an uncaught error (it would end the process).
      const guard = (what: string, fn: () => void) => () => {
        try {
          fn();
        } catch (error) {
          ctx.log.limited("error", "handler_error", {
            socket: "websocket",
            what,
            error: String(error),
          });
        }
      };
      socket.onopen = guard("open", () => {
        ctx.log.info("client_open", { client: id, origin, remote });
        bridge.open(id, origin!);
      });
      socket.onmessage = (event) => guard("message", () => bridge.message(id, event.data))();
      socket.onclose = (event) =>
        guard("close", () => {
          sockets.delete(id);
          bridge.closed(id);
          ctx.log.info("client_closed", { client: id, code: event.code, reason: event.reason });
        })();
      socket.onerror = () => {}; // a close event follows
      return response;
    });
    ctx.defer(() => server.shutdown());
    await listened.promise;
    ctx.print(`open ${url}#token=${encodeURIComponent(token)}`);

    ctx.every(options.flushInterval, () => bridge.tick());
    const tty = !options.json && Deno.stdout.isTerminal();
    let drawn = 0;
    ctx.every(options.refresh, () => {
      if (options.json) {
        ctx.print(JSON.stringify({ type: "stats", ...bridge.stats() }));
        return;
      }
      const frame = terminalFrame(renderView(url, bridge.stats(), bridge.rows(20)), {
        mode: tty ? "ansi" : "plain",
        previousLines: drawn,
      });
      drawn = frame.lines;
      ctx.print(frame.text);
    });

    await ctx.serve(sub, (frames) => bridge.update(frames), { name: "upstream" });
    const snapshot = bridge.shutdown(); // before the SUB closes: it unsubscribes the clients
    sub.close();
    ctx.log.info("summary", { ...bridge.stats() });
    if (options.state) {
      const tmp = `${options.state}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(snapshot));
      await Deno.rename(tmp, options.state);
      ctx.log.info("state_saved", {
        path: options.state,
        epoch: snapshot.epoch,
        seq: snapshot.seq,
        entries: snapshot.entries.length,
      });
    }
    // Close frames go out; a peer that never reads cannot hold the stop past the budget.
    await ctx.drain(async (signal) => {
      while (sockets.size > 0 && !signal.aborted) await delay(10, { signal });
    }, { what: "websocket closes" });
  },
});

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function loadState(
  path: string,
  log: Logger,
): Promise<RingSnapshot | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const snapshot = parseSnapshot(text);
    log.info("state_loaded", {
      path,
      epoch: snapshot.epoch,
      seq: snapshot.seq,
      entries: snapshot.entries.length,
    });
    return snapshot;
  } catch (error) {
    if (!(error instanceof BadMessageError)) throw error;
    log.warn("state_ignored", { path, reason: error.message });
    return undefined;
  }
}
