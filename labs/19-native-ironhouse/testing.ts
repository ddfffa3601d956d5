/**
 * Lab 19 test helpers: certificate sets, the roles on ephemeral ports and a tshark capture
 * on `lo` (the same recipe as Lab 09's: ../shared/recipes.md).
 *
 * @module
 */
import { type RoleProcess, spawnRole } from "@lib/testing/mod.ts";
import { generateCert, readSecretCert } from "@lib/zmq/zcert.ts";

/** Where a test's certificates live. */
export interface CertSet {
  dir: string;
  serverSecret: string;
  serverPublic: string;
  /** The server's allow-list directory. */
  clients: string;
  /** An enrolled client: `${clients}/client1.key_secret`. */
  clientSecret: string;
  /** Not enrolled: `${dir}/outside/intruder.key_secret`. */
  intruderSecret: string;
  /** Every secret key of the set, to prove none leaks. */
  secrets: string[];
}

/**
 * Generates a server pair, an enrolled client and an intruder under `dir`.
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
    dir,
    serverSecret: `${dir}/server/server.key_secret`,
    serverPublic: `${dir}/server/server.key`,
    clients: `${dir}/clients`,
    clientSecret: `${dir}/clients/client1.key_secret`,
    intruderSecret: `${dir}/outside/intruder.key_secret`,
  };
  for (const path of [set.serverSecret, set.clientSecret, set.intruderSecret]) {
    await generateCert(path);
  }
  const secrets = [set.serverSecret, set.clientSecret, set.intruderSecret].map((path) =>
    readSecretCert(path).secretKey
  );
  return { ...set, secrets };
}

/** A running secure_server and its real endpoint. */
export interface Server {
  proc: RoleProcess;
  endpoint: string;
  port: number;
}

/**
 * Starts secure_server on an ephemeral port with `certs` (fast reload, 50 readings/s).
 *
 * @example
 * ```ts
 * import { tempDir } from "@lib/testing/mod.ts";
 * import { makeCerts, startServer } from "./testing.ts";
 * await using dir = await tempDir();
 * const server = await startServer(await makeCerts(dir.path));
 * await server.proc.stop();
 * ```
 */
export async function startServer(certs: CertSet, extra: string[] = []): Promise<Server> {
  const proc = await spawnRole("19", "secure_server", [
    "--bind",
    "tcp://127.0.0.1:*",
    "--cert",
    certs.serverSecret,
    "--clients",
    certs.clients,
    "--reload-interval",
    "100",
    "--rate",
    "50",
    "--stats-interval",
    "500",
    ...extra,
  ]);
  try {
    const { endpoint } = await proc.event("listening", undefined, { timeout: 30_000 });
    const port = Number(String(endpoint).split(":").at(-1));
    return { proc, endpoint: String(endpoint), port };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Starts a secure_client pinning `serverPublic` with the secret certificate `secret`.
 *
 * @example
 * ```ts
 * import { startClient } from "./testing.ts";
 * const client = await startClient("tcp://127.0.0.1:5519", "/srv/server.key", "/srv/c.key_secret");
 * await client.stop();
 * ```
 */
export function startClient(
  endpoint: string,
  serverPublic: string,
  secret: string,
  extra: string[] = [],
): Promise<RoleProcess> {
  return spawnRole("19", "secure_client", [
    "--connect",
    endpoint,
    "--server-key-file",
    serverPublic,
    "--cert",
    secret,
    "--view",
    "none",
    "--stats-interval",
    "300",
    "--redial-interval",
    "100",
    "--redial-max",
    "500",
    ...extra,
  ]);
}

export { type Capture, captureLoopback, tsharkMissing } from "@lib/testing/mod.ts";
