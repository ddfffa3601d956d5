/**
 * Helpers for this lab's process tests: a test network of three hosts (`primary`,
 * `backup`, `client`) in network namespaces, the brokers started on it with the Guide's
 * ports (5001/5002 for clients, 5003/5004 for state: the namespaces are the test's own, so
 * fixed ports cannot collide), and the Guide's Python programs from testdata/.
 *
 * @module
 */
import {
  createTestNetwork,
  type RoleProcess,
  spawnPython,
  spawnRole,
  type TestNetwork,
  testNetworkSupport,
} from "@lib/testing/mod.ts";

/** Absolute path of a file under this lab's testdata/. */
export const testdata = (name: string): string =>
  new URL(`./testdata/${name}`, import.meta.url).pathname;

/** Why the namespace tests cannot run here, or undefined when they can (printed once). */
export async function netnsSkipReason(): Promise<string | undefined> {
  const support = await testNetworkSupport();
  if (!support.ok) return support.reason;
  if (!support.iptables) return "iptables is not installed (apt-get install -y iptables)";
  return undefined;
}

/** The three hosts every test uses. */
export const HOSTS = ["primary", "backup", "client"] as const;

/** Builds the test network (dispose it last: after every process on it has ended). */
export function createLabNetwork(): Promise<TestNetwork> {
  return createTestNetwork({ hosts: [...HOSTS] });
}

/** Endpoints of the pair on `net`, the Guide's layout. */
export function pairEndpoints(net: TestNetwork) {
  const p = net.host("primary").address;
  const b = net.host("backup").address;
  return {
    primary: { frontend: `tcp://${p}:5001`, state: `tcp://${p}:5003` },
    backup: { frontend: `tcp://${b}:5002`, state: `tcp://${b}:5004` },
  };
}

/** The endpoint options of `half` on `net`: the same for our brokers and bstarsrv2.py. */
function endpointArgs(net: TestNetwork, half: "primary" | "backup"): string[] {
  const ep = pairEndpoints(net);
  const [me, peer] = half === "primary" ? [ep.primary, ep.backup] : [ep.backup, ep.primary];
  return ["--frontend", me.frontend, "--state-bind", me.state, "--peer", peer.state];
}

/** Arguments of our broker for `half` on `net`. */
export function brokerArgs(
  net: TestNetwork,
  half: "primary" | "backup",
  heartbeat: number,
): string[] {
  return [
    ...endpointArgs(net, half),
    "--heartbeat",
    String(heartbeat),
    "--stats-interval",
    "0",
  ];
}

/** Starts our broker `half` in its namespace and waits until it listens. */
export async function startBroker(
  net: TestNetwork,
  half: "primary" | "backup",
  heartbeat: number,
  extra: string[] = [],
): Promise<RoleProcess> {
  const proc = await spawnRole("11", `ha_broker_${half}`, [
    ...brokerArgs(net, half, heartbeat),
    ...extra,
  ], { netns: net.host(half).netns });
  try {
    await proc.event("listening", (e) => e.socket === "state", { timeout: 30_000 });
    return proc;
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** Our pair on a test network; disposing it kills whatever still runs. */
export interface Pair extends AsyncDisposable {
  primary: RoleProcess;
  backup: RoleProcess;
}

/** Starts our primary and backup and waits until they settle: primary ACTIVE, backup PASSIVE. */
export async function startPair(
  net: TestNetwork,
  heartbeat: number,
  extra: string[] = [],
): Promise<Pair> {
  const primary = await startBroker(net, "primary", heartbeat, extra);
  let backup: RoleProcess | undefined;
  const dispose = async () => {
    await backup?.[Symbol.asyncDispose]();
    await primary[Symbol.asyncDispose]();
  };
  try {
    backup = await startBroker(net, "backup", heartbeat, extra);
    await reaches(primary, "ACTIVE");
    await reaches(backup, "PASSIVE");
  } catch (error) {
    await dispose();
    throw error;
  }
  return { primary, backup, [Symbol.asyncDispose]: dispose };
}

/** Waits until our broker reports `state` (a `state_changed` to it). */
export function reaches(proc: RoleProcess, state: string, timeout = 30_000) {
  return proc.event("state_changed", (e) => e.to === state, { timeout });
}

/** Starts client_app on the client host against the pair (primary first). */
export function startClient(net: TestNetwork, args: string[]): Promise<RoleProcess> {
  const ep = pairEndpoints(net);
  return spawnRole("11", "client_app", [
    "--server",
    `${ep.primary.frontend},${ep.backup.frontend}`,
    ...args,
  ], { netns: net.host("client").netns });
}

/**
 * Runs one of the Guide's Python programs (testdata/) in `host`'s namespace; its stdout
 * lines are the Guide's `I:`/`W:`/`E:` lines (read them with `stdoutLine`).
 */
export function spawnGuidePython(
  net: TestNetwork,
  host: string,
  python: string,
  script: string,
  args: string[],
): RoleProcess {
  return spawnPython(python, testdata(script), args, { netns: net.host(host).netns });
}

/** Arguments of testdata/bstarsrv2.py for `half` on `net` (our endpoints, Guide ports). */
export function pythonServerArgs(net: TestNetwork, half: "primary" | "backup"): string[] {
  return [half === "primary" ? "-p" : "-b", ...endpointArgs(net, half)];
}
