/**
 * Lab 09 test helpers: certificate sets, the two roles on ephemeral ports, a fake
 * c2_server (for replay tests) and a tshark capture on `lo`.
 *
 * @module
 */
import { type RoleProcess, spawnRole } from "@lib/testing/mod.ts";
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

export { type Capture, captureLoopback, tsharkMissing } from "@lib/testing/mod.ts";
