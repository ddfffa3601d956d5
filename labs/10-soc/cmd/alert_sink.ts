/**
 * alert_sink: the end of the alert pipeline. PULLs from the router's urgent and routine
 * channels, stores each alert once (SQLite, by alert id) and shows them live: a table in the
 * terminal, a web page and `/alerts.json` over HTTP (`--http`), JSON lines with `--json`.
 *
 * @module
 */

import {
  endpoint,
  int,
  type ListenAddress,
  listenAddress,
  runRole,
  terminalFrame,
} from "@lib/role/mod.ts";
import { Option } from "@lib/role/mod.ts";
import { Pull } from "@lib/zmq/mod.ts";
import { AlertStore } from "../internal/alert_store.ts";
import { sqlitePath } from "../internal/options.ts";
import { LIVE_PAGE } from "../internal/live_page.ts";
import { decodeAlert, MAX_BODY_BYTES } from "../internal/protocol.ts";

interface Options {
  urgent: string;
  routine: string;
  db: string;
  http: ListenAddress | null;
  json: boolean;
  tableInterval: number;
  maxAlerts: number;
}

await runRole<Options>({
  name: "alert_sink",
  summary: "PULL urgent and routine alerts, store each once (SQLite), live table + web view",
  configure: (cmd) =>
    cmd
      .option(
        "--urgent <endpoint>",
        "router's urgent PUSH endpoint",
        endpoint,
        "tcp://127.0.0.1:5613",
      )
      .option(
        "--routine <endpoint>",
        "router's routine PUSH endpoint",
        endpoint,
        "tcp://127.0.0.1:5614",
      )
      .option("--db <path>", "SQLite alert store (':memory:' = not kept)", sqlitePath, ":memory:")
      .addOption(
        new Option("--http <host:port>", "web view and /alerts.json, or off")
          .argParser(listenAddress)
          .default(listenAddress("127.0.0.1:5615"), "127.0.0.1:5615"),
      )
      .option(
        "--max-alerts <n>",
        "alerts kept (the oldest are deleted past it)",
        int({ min: 1 }),
        1_000_000,
      )
      .option("--json", "print each stored alert as a JSON line instead of the table", false)
      .option("--table-interval <ms>", "live table refresh", int({ min: 100 }), 1000),
  async run(options, ctx) {
    const store = new AlertStore(options.db);
    ctx.defer(() => store.close());
    const channels = {
      urgent: new Pull({ maxMessageSize: MAX_BODY_BYTES }),
      routine: new Pull({ maxMessageSize: MAX_BODY_BYTES }),
    };
    for (const [name, sock] of Object.entries(channels)) {
      ctx.defer(() => sock.close());
      sock.connect(options[name as "urgent" | "routine"]);
    }
    let duplicates = 0;
    let pruned = 0;
    // One log line per stored alert, up to 100 per 10 s; past that, rate-limited summaries.
    let budget = 100;
    ctx.every(10_000, () => {
      budget = 100;
      if (store.count() > options.maxAlerts) pruned += store.prune(options.maxAlerts);
    });
    if (options.http) {
      const server = Deno.serve({
        hostname: options.http.hostname,
        port: options.http.port,
        onListen: ({ hostname, port }) => {
          ctx.listening(`http://${hostname}:${port}/`, { socket: "http" });
        },
        onError: () => new Response("internal error", { status: 500 }),
      }, (request) => {
        const path = new URL(request.url).pathname;
        if (request.method !== "GET") return new Response("method not allowed", { status: 405 });
        if (path === "/") {
          return new Response(LIVE_PAGE, {
            headers: { "content-type": "text/html; charset=utf-8" },
          });
        }
        if (path === "/healthz") return new Response("ok\n");
        if (path === "/alerts.json") {
          return Response.json({
            count: store.count(),
            duplicates,
            summary: store.summary(),
            ids: store.ids(10_000),
            latest: store.latest(50),
          });
        }
        return new Response("not found", { status: 404 });
      });
      ctx.defer(() => server.shutdown());
    } else {
      ctx.listening(options.urgent);
    }
    const tty = !options.json && Deno.stdout.isTerminal();
    let drawn = 0;
    let last = "";
    ctx.every(options.json ? 0 : options.tableInterval, () => {
      const rows = store.summary();
      const lines = [
        `alert_sink  stored ${store.count()}  duplicates ignored ${duplicates}  pruned ${pruned}`,
        "rule          severity   alerts",
        ...rows.map((r) => `${r.rule.padEnd(13)} ${r.severity.padEnd(10)} ${r.n}`),
      ];
      const text = lines.join("\n");
      if (!tty && text === last) return;
      last = text;
      const frame = terminalFrame(lines, { mode: tty ? "ansi" : "plain", previousLines: drawn });
      drawn = frame.lines;
      ctx.print(frame.text);
    });
    await Promise.all(
      Object.entries(channels).map(([channel, sock]) =>
        ctx.serve(sock, (frames) => {
          const alert = decodeAlert(frames);
          if (!store.add(alert, channel)) {
            duplicates++;
            return;
          }
          const fields = {
            alert_id: alert.alert_id,
            rule: alert.rule,
            severity: alert.severity,
            channel,
          };
          if (budget > 0) {
            budget--;
            ctx.log.info("alert_stored", fields);
          } else ctx.log.limited("info", "alert_stored", fields, "stored");
          if (options.json) ctx.print(JSON.stringify({ ...alert, channel }));
        }, { name: channel })
      ),
    );
  },
});
