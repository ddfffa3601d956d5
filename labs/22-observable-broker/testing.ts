/**
 * Test helpers of Lab 22: start the broker on ephemeral ports and read its real endpoints,
 * send control commands, scrape and parse `/metrics`, and speak garbage to a socket.
 *
 * @module
 */
import { spawnRole } from "@lib/testing/mod.ts";
import { Request } from "@lib/zmq/mod.ts";
import { decodeStatistics, type SteerableStatistics } from "./internal/control.ts";
import { type MetricFamily, parsePrometheusText } from "./internal/prometheus_text.ts";

export { parsePrometheusText } from "./internal/prometheus_text.ts";

/** Any port on the loopback interface. */
export const ANY = "tcp://127.0.0.1:*";

/** A spawned role. */
export type Proc = Awaited<ReturnType<typeof spawnRole>>;

/** A running broker and its real endpoints. */
export interface Broker {
  proc: Proc;
  frontend: string;
  backend: string;
  capture: string;
  control: string;
  metrics: string;
}

/** Starts `monitored_broker` with every socket on an ephemeral port. */
export async function startBroker(args: string[] = []): Promise<Broker> {
  const proc = await spawnRole("22", "monitored_broker", [
    "--frontend",
    ANY,
    "--backend",
    ANY,
    "--capture",
    ANY,
    "--control",
    ANY,
    "--metrics",
    "127.0.0.1:0",
    "--stats-interval",
    "0",
    ...args,
  ]);
  const at = async (socket: string) =>
    String((await proc.event("listening", (e) => e.socket === socket)).endpoint);
  return {
    proc,
    frontend: await at("frontend"),
    backend: await at("backend"),
    capture: await at("capture"),
    control: await at("control"),
    metrics: await at("metrics"),
  };
}

/** Sends one control command on a fresh REQ socket; resolves with the reply's frames. */
export async function controlCommand(
  endpoint: string,
  command: string | Uint8Array[],
): Promise<Uint8Array[]> {
  await using req = new Request({ linger: 0, receiveTimeout: 10_000, sendTimeout: 10_000 });
  req.connect(endpoint);
  await req.send(typeof command === "string" ? command : command);
  return await req.receive();
}

/** STATISTICS over the control socket. */
export async function statistics(endpoint: string): Promise<SteerableStatistics> {
  return decodeStatistics(await controlCommand(endpoint, "STATISTICS"));
}

/** GETs the metrics URL and parses it (throws on a parse error or a non-200). */
export async function scrape(url: string): Promise<MetricFamily[]> {
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`expected 200 from ${url}, got ${response.status}`);
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("text/plain; version=0.0.4")) {
    throw new Error(`expected content-type text/plain; version=0.0.4, got ${type}`);
  }
  return parsePrometheusText(text);
}

/** The value of one sample (summed over samples matching `labels`). */
export function metric(
  families: MetricFamily[],
  name: string,
  labels: Record<string, string> = {},
): number {
  let total = 0;
  for (const f of families) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) {
        total += s.value;
      }
    }
  }
  return total;
}

/**
 * Connects to a tcp:// endpoint and writes a ZMTP 3.0 greeting that asks for the CURVE
 * mechanism (the broker's sockets use NULL): libzmq fails the handshake. Then closes.
 */
export async function wrongMechanism(endpoint: string): Promise<void> {
  const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`expected tcp://host:port, got ${endpoint}`);
  const conn = await Deno.connect({ hostname: m[1], port: Number(m[2]) });
  try {
    const greeting = new Uint8Array(64);
    greeting[0] = 0xff;
    greeting[9] = 0x7f;
    greeting[10] = 3;
    greeting.set(new TextEncoder().encode("CURVE"), 12);
    await conn.write(greeting);
    // Wait for the other side to hang up (it reads our greeting, then closes).
    const buf = new Uint8Array(1024);
    const deadline = AbortSignal.timeout(10_000);
    while (!deadline.aborted) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<null>((r) => deadline.addEventListener("abort", () => r(null))),
      ]).catch(() => null);
      if (n === null) break;
    }
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}
