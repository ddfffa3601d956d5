/**
 * Lab 09 test helpers: certificate sets, the two roles on ephemeral ports, a fake
 * c2_server (for replay tests) and a tshark capture on `lo`.
 *
 * @module
 */
import { type RoleProcess, spawnRole, waitFor } from "@lib/testing/mod.ts";
import { generateCert, readSecretCert } from "./internal/cert_store.ts";

/** Where a test's certificates live. */
export interface CertSet {
  serverSecret: string;
  serverPublic: string;
  allowDir: string;
  /** An enrolled agent: `${allowDir}/agent1.key_secret`. */
  agentSecret: string;
  /** Not enrolled: `${dir}/intruder/intruder.key_secret`. */
  intruderSecret: string;
  /** Every secret key of the set, to prove none leaks. */
  secrets: string[];
}

/**
 * Generates a server pair, an enrolled agent and an intruder under `dir`.
 *
 * @example
 * ```ts
 * import { tempDir } from "@lib/testing/mod.ts";
 * import { makeCerts } from "./testing.ts";
 * await using dir = await tempDir();
 * const certs = await makeCerts(dir.path);
 * ```
 */
export async function makeCerts(dir: string): Promise<CertSet> {
  const set = {
    serverSecret: `${dir}/server/server.key_secret`,
    serverPublic: `${dir}/server/server.key`,
    allowDir: `${dir}/allowed`,
    agentSecret: `${dir}/allowed/agent1.key_secret`,
    intruderSecret: `${dir}/intruder/intruder.key_secret`,
  };
  for (const path of [set.serverSecret, set.agentSecret, set.intruderSecret]) {
    await generateCert(path);
  }
  const secrets = [];
  for (const path of [set.serverSecret, set.agentSecret, set.intruderSecret]) {
    secrets.push((readSecretCert(path)).secretKey);
  }
  return { ...set, secrets };
}

/** A running c2_server and its real endpoint. */
export interface Server {
  proc: RoleProcess;
  endpoint: string;
  port: number;
}

/**
 * Starts c2_server on an ephemeral port with `certs` (fast reload and command interval).
 *
 * @example
 * ```ts
 * import { tempDir } from "@lib/testing/mod.ts";
 * import { makeCerts, startServer } from "./testing.ts";
 * await using dir = await tempDir();
 * const server = await startServer(await makeCerts(dir.path), [`--audit-log`, `${dir.path}/a`]);
 * await server.proc.stop();
 * ```
 */
export async function startServer(certs: CertSet, extra: string[] = []): Promise<Server> {
  const proc = await spawnRole("09", "c2_server", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--secret-key-file",
    certs.serverSecret,
    "--allow-dir",
    certs.allowDir,
    "--reload-interval",
    "100",
    "--interval",
    "200",
    ...extra,
  ]);
  const { endpoint } = await proc.event("listening");
  const port = Number(String(endpoint).split(":").at(-1));
  return { proc, endpoint: String(endpoint), port };
}

/**
 * Starts a secure_agent with the given secret certificate against `endpoint`.
 *
 * @example
 * ```ts
 * import { startAgent } from "./testing.ts";
 * const agent = await startAgent("tcp://127.0.0.1:5590", "/srv/server.key", "/srv/a.key_secret");
 * await agent.stop();
 * ```
 */
export function startAgent(
  endpoint: string,
  serverPublic: string,
  secret: string,
  extra: string[] = [],
): Promise<RoleProcess> {
  return spawnRole("09", "secure_agent", [
    "--server",
    endpoint,
    "--server-key-file",
    serverPublic,
    "--secret-key-file",
    secret,
    "--hello-interval",
    "200",
    "--redial-interval",
    "100",
    "--redial-max",
    "500",
    ...extra,
  ]);
}

/** Whether tshark can run here, or why not. */
export async function tsharkMissing(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("tshark", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    if (!out.success) return "tshark --version failed";
  } catch {
    return "tshark is not installed (apt-get install tshark)";
  }
  if (Deno.uid?.() !== 0) return "capturing on lo needs root";
  return undefined;
}

/** A running capture. */
export interface Capture extends AsyncDisposable {
  /** Stops capturing and returns how many packets carry `needle` and how many in all. */
  finish(needle: string): Promise<{ hits: number; packets: number }>;
}

/**
 * Captures TCP `port` on `lo` into `file`; resolves once tshark is capturing.
 *
 * @example
 * ```ts
 * import { captureLoopback } from "./testing.ts";
 * await using capture = await captureLoopback(5590, "/tmp/cap.pcap");
 * const { hits } = await capture.finish("SECRET");
 * ```
 */
export async function captureLoopback(port: number, file: string): Promise<Capture> {
  const child = new Deno.Command("tshark", {
    args: ["-i", "lo", "-f", `tcp port ${port}`, "-w", file, "-a", "duration:120"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) lines.push(decoder.decode(chunk));
  })();
  await waitFor("tshark to start capturing", () => lines.join("").includes("Capturing on"), {
    timeoutMs: 20_000,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGINT");
    } catch {
      // already gone
    }
    await child.status;
    await reading.catch(() => {});
  };
  return {
    async finish(needle: string) {
      await stop();
      const count = async (filter: string[]) => {
        const out = await new Deno.Command("tshark", {
          args: ["-r", file, ...filter],
          stdout: "piped",
          stderr: "null",
        }).output();
        return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).length;
      };
      return {
        hits: await count(["-Y", `tcp.payload contains "${needle}"`]),
        packets: await count(["-Y", "tcp.len > 0"]),
      };
    },
    [Symbol.asyncDispose]: stop,
  };
}
