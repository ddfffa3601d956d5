/**
 * Lab 09 test helpers: certificate sets, the two roles on ephemeral ports, a fake
 * c2_server (for replay tests) and a tshark capture on `lo`.
 *
 * @module
 */
import { type RoleProcess, spawnRole, waitFor } from "@lib/testing/mod.ts";
import { generateCert, readSecretCert } from "@lib/zmq/zcert.ts";

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
  /**
   * Stops capturing (the port must still be open: an end marker is sent through it); how
   * many TCP segments carry `needle` and how many had a payload.
   */
  finish(needle: string): Promise<{ hits: number; packets: number }>;
}

const hex = (text: string) =>
  [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Captures TCP `port` on `lo` with tshark, printing each segment's payload as it goes.
 * Resolves once the capture provably sees traffic: bare TCP connects to the port are made
 * until tshark reports one (dumpcap attaches its filter a while after it says
 * "Capturing on").
 *
 * @example
 * ```ts
 * import { captureLoopback } from "./testing.ts";
 * await using capture = await captureLoopback(5590);
 * const { hits } = await capture.finish("SECRET");
 * ```
 */
export async function captureLoopback(port: number): Promise<Capture> {
  const child = new Deno.Command("tshark", {
    args: [
      "-l",
      "-i",
      "lo",
      "-f",
      `tcp port ${port}`,
      "-a",
      "duration:300",
      "-T",
      "fields",
      "-e",
      "tcp.len",
      "-e",
      "tcp.payload",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGINT");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
    await reading.catch(() => {});
  };
  try {
    await waitFor("tshark to see a probe connection", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      } catch {
        // nothing listening yet is fine: the SYN still crosses lo
      }
      return lines.length > 0;
    }, { timeoutMs: 30_000, intervalMs: 250 });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    async finish(needle: string) {
      // tshark prints packets in order: once a marker sent now shows, every earlier
      // segment has been printed. The port must still be open.
      const marker = `CAPTURE-MARK-${crypto.randomUUID()}`;
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(new TextEncoder().encode(marker));
        await waitFor(
          "tshark to print the end marker",
          () => lines.some((l) => l.includes(hex(marker))),
          {
            timeoutMs: 30_000,
          },
        );
      } finally {
        conn.close();
      }
      await stop();
      const target = hex(needle);
      const segments = lines.map((line) => line.split("\t")).filter(([len]) => Number(len) > 0);
      return {
        hits: segments.filter(([, payload]) => (payload ?? "").replaceAll(":", "").includes(target))
          .length,
        packets: segments.length,
      };
    },
    [Symbol.asyncDispose]: stop,
  };
}
