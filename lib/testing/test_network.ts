/**
 * Test hosts on a private network of Linux network namespaces, for tests that need more
 * than one host and real network faults (see `../shared/recipes.md`): a switch namespace
 * with a bridge, one namespace per host joined to it by a veth pair, addresses
 * `10.77.<n>.<i>/24`, and always a blackhole route for that subnet in the root namespace
 * so that no stray packet leaves the machine. Every name carries a random suffix, so
 * concurrent test runs do not collide; everything is removed on dispose (`await using`),
 * also when setting up failed halfway.
 *
 * Faults: {@link TestNetwork.linkDown}/{@link TestNetwork.linkUp} (the host's switch port),
 * {@link TestNetwork.partition}/{@link TestNetwork.heal} (iptables DROP between two hosts),
 * {@link TestNetwork.loss} (iptables `statistic` random drop), {@link TestNetwork.bandwidth}
 * (a `tbf` queue). Processes run inside a host with `ip netns exec` (see
 * {@link TestNetwork.command} and `spawnRole(..., { netns })`). Needs root and `ip`
 * (iproute2); partition and loss need `iptables`. Use {@link testNetworkSupport} to skip a
 * test with a printed reason where that is missing.
 *
 * @module
 */

/** One test host. */
export interface TestHost {
  /** Short name given at creation, e.g. "h1" or "broker". */
  readonly name: string;
  /** Network namespace name (for `ip netns exec`). */
  readonly netns: string;
  /** The host's address on the test network, e.g. "10.77.42.1". */
  readonly address: string;
  /** Its switch-side interface (inside the switch namespace). */
  readonly port: string;
}

/** Options of {@link createTestNetwork}. */
export interface TestNetworkOptions {
  /** Host names (default `["h1", "h2"]`); at most 200. */
  hosts?: string[];
}

/** Whether namespaces can be used here, and if not why. */
export type TestNetworkSupport = { ok: true; iptables: boolean } | { ok: false; reason: string };

const decoder = new TextDecoder();

async function exec(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const result = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      ok: result.success,
      out: (decoder.decode(result.stdout) + decoder.decode(result.stderr)).trim(),
    };
  } catch (error) {
    return { ok: false, out: (error as Error).message };
  }
}

/** Runs a command and throws `<command>: <output>` when it fails. */
async function run(cmd: string, ...args: string[]): Promise<string> {
  const { ok, out } = await exec(cmd, args);
  if (!ok) throw new Error(`${[cmd, ...args].join(" ")}: ${out || "failed"}`);
  return out;
}

let cachedSupport: Promise<TestNetworkSupport> | undefined;

/**
 * Whether this machine can build test networks: Linux, root, `ip netns` working (checked by
 * creating and deleting a namespace), and whether `iptables` is there.
 *
 * @example
 * ```ts
 * import { testNetworkSupport } from "@lib/testing/mod.ts";
 *
 * const support = await testNetworkSupport();
 * if (!support.ok) console.log(`skipping the namespace tests: ${support.reason}`);
 * ```
 */
export function testNetworkSupport(): Promise<TestNetworkSupport> {
  cachedSupport ??= (async (): Promise<TestNetworkSupport> => {
    if (Deno.build.os !== "linux") {
      return { ok: false, reason: `network namespaces need Linux, this is ${Deno.build.os}` };
    }
    if (Deno.uid() !== 0) return { ok: false, reason: "network namespaces need root" };
    const probe = `zlprobe-${crypto.randomUUID().slice(0, 8)}`;
    const add = await exec("ip", ["netns", "add", probe]);
    if (!add.ok) return { ok: false, reason: `ip netns add failed: ${add.out}` };
    await exec("ip", ["netns", "delete", probe]);
    const iptables = (await exec("iptables", ["--version"])).ok;
    return { ok: true, iptables };
  })();
  return cachedSupport;
}

/** A private network of test hosts; see the module doc. Dispose it to remove everything. */
export class TestNetwork implements AsyncDisposable {
  /** The random suffix in every name of this network. */
  readonly id: string;
  /** The subnet, e.g. "10.77.42.0/24". */
  readonly subnet: string;
  /** The switch namespace. */
  readonly switchNetns: string;
  readonly #hosts: TestHost[] = [];
  #routeAdded = false;
  #switchAdded = false;
  #closed = false;

  private constructor(id: string, octet: number) {
    this.id = id;
    this.subnet = `10.77.${octet}.0/24`;
    this.switchNetns = `zl-${id}-sw`;
  }

  /** The hosts, in creation order. */
  get hosts(): readonly TestHost[] {
    return this.#hosts;
  }

  /**
   * The host named `name`, or throws naming the hosts there are.
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * await using net = await createTestNetwork({ hosts: ["broker", "worker"] });
   * console.log(net.host("broker").address); // "10.77.<n>.1"
   * ```
   */
  host(name: string): TestHost {
    const found = this.#hosts.find((h) => h.name === name);
    if (!found) {
      throw new Error(
        `no test host "${name}": expected one of ${this.#hosts.map((h) => h.name).join(", ")}`,
      );
    }
    return found;
  }

  /** @internal Use {@link createTestNetwork}. */
  static async create(options: TestNetworkOptions = {}): Promise<TestNetwork> {
    const names = options.hosts ?? ["h1", "h2"];
    if (names.length === 0 || names.length > 200) {
      throw new Error(`expected 1 to 200 hosts, got ${names.length}`);
    }
    if (new Set(names).size !== names.length) {
      throw new Error(`expected unique host names, got ${names.join(", ")}`);
    }
    const id = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
    // A free /24: the blackhole route doubles as the reservation (adding it twice fails).
    let net: TestNetwork | undefined;
    for (let attempt = 0; attempt < 20 && !net; attempt++) {
      const candidate = new TestNetwork(id, Math.floor(Math.random() * 256));
      const added = await exec("ip", ["route", "add", "blackhole", candidate.subnet]);
      if (added.ok) {
        candidate.#routeAdded = true;
        net = candidate;
      } else if (!/File exists/i.test(added.out)) {
        throw new Error(`ip route add blackhole ${candidate.subnet}: ${added.out}`);
      }
    }
    if (!net) throw new Error("no free 10.77.x.0/24 subnet for a test network after 20 tries");
    try {
      await net.#build(names);
    } catch (error) {
      await net.close();
      throw error;
    }
    return net;
  }

  async #build(names: string[]): Promise<void> {
    const sw = this.switchNetns;
    await run("ip", "netns", "add", sw);
    this.#switchAdded = true;
    await run("ip", "-n", sw, "link", "add", "br0", "type", "bridge");
    await run("ip", "-n", sw, "link", "set", "br0", "up");
    const prefix = this.subnet.slice(0, this.subnet.lastIndexOf("."));
    for (const [i, name] of names.entries()) {
      const host: TestHost = {
        name,
        netns: `zl-${this.id}-${name}`,
        address: `${prefix}.${i + 1}`,
        port: `zl${this.id}p${i + 1}`, // <= 15 characters, unique on the machine
      };
      await run("ip", "netns", "add", host.netns);
      this.#hosts.push(host);
      await run(
        "ip",
        "link",
        "add",
        host.port,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        host.netns,
      );
      await run("ip", "link", "set", host.port, "netns", sw);
      await run("ip", "-n", sw, "link", "set", host.port, "master", "br0", "up");
      await run("ip", "-n", host.netns, "addr", "add", `${host.address}/24`, "dev", "eth0");
      await run("ip", "-n", host.netns, "link", "set", "eth0", "up");
      await run("ip", "-n", host.netns, "link", "set", "lo", "up");
    }
  }

  /**
   * A command that runs `cmd args` inside `host`'s namespace (`ip netns exec`).
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * await using net = await createTestNetwork();
   * const out = await net.command("h1", "ip", ["addr", "show", "eth0"]).output();
   * ```
   */
  command(
    host: string,
    cmd: string,
    args: string[] = [],
    options: Omit<Deno.CommandOptions, "args"> = {},
  ): Deno.Command {
    return new Deno.Command("ip", {
      ...options,
      args: ["netns", "exec", this.host(host).netns, cmd, ...args],
    });
  }

  /**
   * Takes `host`'s switch port down: its cable is pulled.
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * await using net = await createTestNetwork();
   * await net.linkDown("h2");
   * await net.linkUp("h2");
   * ```
   */
  async linkDown(host: string): Promise<void> {
    await run("ip", "-n", this.switchNetns, "link", "set", this.host(host).port, "down");
  }

  /**
   * Brings `host`'s switch port back up.
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * await using net = await createTestNetwork();
   * await net.linkUp("h1");
   * ```
   */
  async linkUp(host: string): Promise<void> {
    await run("ip", "-n", this.switchNetns, "link", "set", this.host(host).port, "up");
  }

  /**
   * Drops every packet between `a` and `b`, both ways (iptables in `a`).
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * await using net = await createTestNetwork();
   * await net.partition("h1", "h2");
   * await net.heal("h1");
   * ```
   */
  async partition(a: string, b: string): Promise<void> {
    const ns = this.host(a).netns;
    const peer = this.host(b).address;
    await run("ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-s", peer, "-j", "DROP");
    await run("ip", "netns", "exec", ns, "iptables", "-A", "OUTPUT", "-d", peer, "-j", "DROP");
  }

  /**
   * Drops a random share (0..1) of the packets `host` sends (to `peer` only, when given).
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * await using net = await createTestNetwork();
   * await net.loss("h1", 0.3);
   * ```
   */
  async loss(host: string, probability: number, peer?: string): Promise<void> {
    if (!(probability >= 0 && probability <= 1)) {
      throw new Error(`expected a loss probability in [0, 1], got ${probability}`);
    }
    await run(
      "ip",
      "netns",
      "exec",
      this.host(host).netns,
      "iptables",
      "-A",
      "OUTPUT",
      ...(peer ? ["-d", this.host(peer).address] : ["-o", "eth0"]),
      "-m",
      "statistic",
      "--mode",
      "random",
      "--probability",
      String(probability),
      "-j",
      "DROP",
    );
  }

  /**
   * Removes every partition and loss rule of `host` (all hosts when omitted).
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * await using net = await createTestNetwork();
   * await net.heal();
   * ```
   */
  async heal(host?: string): Promise<void> {
    for (const h of host ? [this.host(host)] : this.#hosts) {
      const { ok, out } = await exec("ip", ["netns", "exec", h.netns, "iptables", "-F"]);
      // Without iptables there is nothing to heal.
      if (!ok && !/No such file|not found/i.test(out)) throw new Error(`iptables -F: ${out}`);
    }
  }

  /**
   * Limits what `host` sends to `rate` (tc syntax, e.g. "512kbit"); `null` removes the limit.
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * await using net = await createTestNetwork();
   * await net.bandwidth("h1", "512kbit");
   * await net.bandwidth("h1", null);
   * ```
   */
  async bandwidth(host: string, rate: string | null): Promise<void> {
    const ns = this.host(host).netns;
    if (rate === null) {
      await exec("ip", ["netns", "exec", ns, "tc", "qdisc", "del", "dev", "eth0", "root"]);
      return;
    }
    await run(
      "ip",
      "netns",
      "exec",
      ns,
      "tc",
      "qdisc",
      "replace",
      "dev",
      "eth0",
      "root",
      "tbf",
      "rate",
      rate,
      "burst",
      "1600",
      "latency",
      "2s",
    );
  }

  /**
   * Removes the hosts, the switch and the blackhole route (also what a failed setup left).
   * Safe to call twice.
   *
   * @example
   * ```ts
   * import { createTestNetwork } from "@lib/testing/mod.ts";
   *
   * const net = await createTestNetwork();
   * await net.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const problems: string[] = [];
    // A host namespace may hold processes: deleting it only unlinks the name, and their
    // interfaces go with the last process. Tests end their processes first.
    for (const host of this.#hosts) {
      const { ok, out } = await exec("ip", ["netns", "delete", host.netns]);
      if (!ok) problems.push(out);
    }
    if (this.#switchAdded) {
      const { ok, out } = await exec("ip", ["netns", "delete", this.switchNetns]);
      if (!ok) problems.push(out);
    }
    if (this.#routeAdded) {
      const { ok, out } = await exec("ip", ["route", "del", "blackhole", this.subnet]);
      if (!ok) problems.push(out);
    }
    if (problems.length > 0) {
      throw new Error(`test network ${this.id}: teardown left problems: ${problems.join("; ")}`);
    }
  }

  /** Same as {@link TestNetwork.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Builds a test network (see {@link TestNetwork}); dispose it with `await using`.
 *
 * @example
 * ```ts
 * import { createTestNetwork, spawnRole } from "@lib/testing/mod.ts";
 *
 * await using net = await createTestNetwork({ hosts: ["agent", "dashboard"] });
 * const bind = `tcp://${net.host("dashboard").address}:5501`;
 * await using dashboard = await spawnRole("01", "dashboard", ["--bind", bind], {
 *   netns: net.host("dashboard").netns,
 * });
 * await net.linkDown("agent");
 * ```
 */
export function createTestNetwork(options: TestNetworkOptions = {}): Promise<TestNetwork> {
  return TestNetwork.create(options);
}
