/**
 * Helpers for this lab's process tests: start policy_master on a free port triple and
 * firewall_nodes against it (real processes through `@lib/testing`), write raw KVSETs from
 * the test, and run the Guide-style Python programs in testdata/.
 *
 * @module
 */
import { deadline } from "@lib/async/mod.ts";
import {
  createTestNetwork,
  type RoleProcess,
  spawnPython,
  spawnRole,
  type TestNetwork,
  testNetworkSupport,
} from "@lib/testing/mod.ts";
import { XPublisher } from "@lib/zmq/mod.ts";
import { encodeKv, newUuid } from "./internal/protocol.ts";

/** Absolute path of a file under this lab's testdata/. */
export const testdata = (name: string): string =>
  new URL(`./testdata/${name}`, import.meta.url).pathname;

/** Waits for `proc`'s `listening` event on `socket`; kills the process if it never comes. */
async function listeningOn(proc: RoleProcess, socket: string): Promise<string> {
  try {
    const ev = await proc.event("listening", (e) => e.socket === socket, { timeout: 30_000 });
    return String(ev.endpoint);
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** A running master and its `tcp://127.0.0.1:P`. */
export interface Master {
  proc: RoleProcess;
  server: string;
  port: number;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts policy_master (default: the lab's testdata policies, a free P) and reads P from
 * its `listening` event for the snapshot socket.
 *
 * @example
 * ```ts
 * await using master = await startMaster(["--heartbeat", "200"]);
 * ```
 */
export async function startMaster(
  args: string[] = [],
  bind = "tcp://127.0.0.1:*",
  netns?: string,
): Promise<Master> {
  const proc = await spawnRole("07", "policy_master", [
    "--bind",
    bind,
    "--stats-interval",
    "0",
    ...(args.includes("--policies") ? [] : ["--policies", testdata("policies")]),
    ...args,
  ], netns ? { netns } : {});
  const server = await listeningOn(proc, "snapshot");
  return {
    proc,
    server,
    port: Number(/:(\d+)$/.exec(server)![1]),
    [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
  };
}

/**
 * Starts firewall_node against `server` with `--json` change lines on stdout.
 *
 * @example
 * ```ts
 * await using master = await startMaster();
 * await using node = await startNode(master.server, ["--subtree", "/acl/dmz/"]);
 * await node.event("synced");
 * ```
 */
export function startNode(
  server: string | string[],
  args: string[] = [],
  options: { netns?: string } = {},
): Promise<RoleProcess> {
  const servers = Array.isArray(server) ? server : [server];
  return spawnRole("07", "firewall_node", [
    ...servers.flatMap((s) => ["--server", s]),
    "--json",
    "--report-interval",
    "50",
    "--stats-interval",
    "0",
    ...args,
  ], options);
}

/** A node's `--json` change lines, parsed. */
export function changes(node: RoleProcess): Record<string, unknown>[] {
  return node.stdoutLines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** A raw writer on the master's collector (P+2), ready once the collector has subscribed. */
export interface RawWriter extends AsyncDisposable {
  set(key: string, body: string, properties?: [string, string][]): Promise<void>;
  sendFrames(frames: Uint8Array[]): Promise<void>;
}

/**
 * Connects an XPUB to the collector at P+2 and waits for its subscription (so nothing sent
 * afterwards is lost to the slow-joiner race).
 *
 * @example
 * ```ts
 * await using master = await startMaster();
 * await using writer = await rawWriter(master.port);
 * await writer.set("/acl/x", "deny any from any to any");
 * ```
 */
export async function rawWriter(port: number): Promise<RawWriter> {
  const out = new XPublisher({ linger: 1000 });
  out.connect(`tcp://127.0.0.1:${port + 2}`);
  try {
    await deadline(out.receive(), 10_000, { what: "the collector's subscription" });
  } catch (error) {
    out.close();
    throw error;
  }
  const te = new TextEncoder();
  return {
    sendFrames: async (frames) => void await out.send(frames),
    set: async (key, body, properties = []) =>
      void await out.send(encodeKv({
        key,
        sequence: 0,
        uuid: newUuid(),
        properties: new Map(properties),
        body: te.encode(body),
      })),
    [Symbol.asyncDispose]: () => Promise.resolve(out.close()),
  };
}

/**
 * Runs one of the Guide-style Python programs in testdata/ (its `I:` lines are stdout;
 * dispose it to kill it).
 *
 * @example
 * ```ts
 * import { pythonWithZmq } from "@lib/testing/mod.ts";
 * import { spawnGuidePython } from "./testing.ts";
 * const python = await pythonWithZmq();
 * await using srv = spawnGuidePython(python ?? "python3", "clonesrv6.py", ["-p", "--port", "0"]);
 * await srv.stdoutLine((line) => line.includes("listening on"));
 * ```
 */
export function spawnGuidePython(python: string, script: string, args: string[]): RoleProcess {
  return spawnPython(python, testdata(script), args, { cwd: testdata("") });
}

/** Why the namespace tests cannot run here, or undefined when they can. */
export async function netnsSkipReason(): Promise<string | undefined> {
  const support = await testNetworkSupport();
  return support.ok ? undefined : support.reason;
}

/** The hosts of the pair test: two masters and a node (the node host also writes). */
export function createPairNetwork(): Promise<TestNetwork> {
  return createTestNetwork({ hosts: ["primary", "backup", "node"] });
}

/** `tcp://<host>:5570` on the test network (the namespaces are the test's own). */
export const chpOn = (net: TestNetwork, host: string): string =>
  `tcp://${net.host(host).address}:5570`;

/**
 * Starts one half of a Clone model 6 pair in its namespace (P = 5570, Binary Star state on
 * 5003), heartbeat `hb` ms, and waits until it listens.
 *
 * @example
 * ```ts
 * await using net = await createPairNetwork();
 * await using primary = await startHalf(net, "primary", 250);
 * ```
 */
export async function startHalf(
  net: TestNetwork,
  half: "primary" | "backup",
  hb: number,
): Promise<RoleProcess> {
  const other = half === "primary" ? "backup" : "primary";
  const proc = await spawnRole("07", "policy_master", [
    "--bind",
    chpOn(net, half),
    "--policies",
    testdata("policies"),
    "--ha",
    half,
    "--peer",
    chpOn(net, other),
    "--bstar-bind",
    `tcp://${net.host(half).address}:5003`,
    "--bstar-peer",
    `tcp://${net.host(other).address}:5003`,
    "--heartbeat",
    String(hb),
    "--stats-interval",
    "0",
  ], { netns: net.host(half).netns });
  await listeningOn(proc, "bstar");
  return proc;
}
