/**
 * Helpers for this lab's process tests: start policy_master on a free port triple and
 * firewall_nodes against it (real processes through `@lib/testing`), write raw KVSETs from
 * the test, and run the Guide-style Python programs in testdata/.
 *
 * @module
 */
import { deadline } from "@lib/async/mod.ts";
import { RoleProcess, spawnRole } from "@lib/testing/mod.ts";
import { XPublisher } from "@lib/zmq/mod.ts";
import { encodeKv, newUuid } from "./internal/protocol.ts";

/** Absolute path of a file under this lab's testdata/. */
export const testdata = (name: string): string =>
  new URL(`./testdata/${name}`, import.meta.url).pathname;

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
export async function startMaster(args: string[] = [], bind = "tcp://127.0.0.1:*"): Promise<Master> {
  const proc = await spawnRole("07", "policy_master", [
    "--bind",
    bind,
    "--stats-interval",
    "0",
    ...(args.includes("--policies") ? [] : ["--policies", testdata("policies")]),
    ...args,
  ]);
  try {
    const ev = await proc.event("listening", (e) => e.socket === "snapshot", { timeout: 20_000 });
    const server = String(ev.endpoint);
    return {
      proc,
      server,
      port: Number(/:(\d+)$/.exec(server)![1]),
      [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
    };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Starts firewall_node against `server` with `--json` change lines on stdout.
 *
 * @example
 * ```ts
 * await using node = await startNode(master.server, ["--subtree", "/acl/dmz/"]);
 * await node.event("synced");
 * ```
 */
export function startNode(server: string | string[], args: string[] = []): Promise<RoleProcess> {
  const servers = Array.isArray(server) ? server : [server];
  return spawnRole("07", "firewall_node", [
    ...servers.flatMap((s) => ["--server", s]),
    "--json",
    "--report-interval",
    "50",
    "--stats-interval",
    "0",
    ...args,
  ]);
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

/** A python3 with pyzmq (a pyenv shim may hide the system's python3-zmq), or undefined. */
export async function pythonWithZmq(): Promise<string | undefined> {
  for (const python of ["python3", "/usr/bin/python3"]) {
    const out = await new Deno.Command(python, {
      args: ["-c", "import zmq"],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => undefined);
    if (out?.success) return python;
  }
  return undefined;
}

/**
 * Runs one of the Guide-style Python programs in testdata/ (its `I:` lines are stdout;
 * dispose it to kill it).
 *
 * @example
 * ```ts
 * await using srv = spawnPython(python, "clonesrv6.py", ["-p", "--port", "0"]);
 * await srv.stdoutLine(/listening on/);
 * ```
 */
export function spawnPython(python: string, script: string, args: string[]): RoleProcess {
  const command = new Deno.Command(python, {
    args: ["-u", testdata(script), ...args],
    cwd: testdata(""),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  return new RoleProcess(script, command, false);
}
