/**
 * Lab 24 test helpers: devices and scanners in test network namespaces, raw UDP from a
 * test host, a tshark capture inside a namespace.
 *
 * @module
 */

import { toHex } from "@lib/async/mod.ts";
import {
  type RoleEvent,
  type RoleProcess,
  spawnRole,
  type TestNetwork,
  testNetworkSupport,
  waitFor,
} from "@lib/testing/mod.ts";

/** Why the namespace tests cannot run here, or undefined. */
export async function netnsSkipReason(): Promise<string | undefined> {
  const support = await testNetworkSupport();
  return support.ok ? undefined : support.reason;
}

/** Why tshark cannot run here, or undefined. */
export async function tsharkSkipReason(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("tshark", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? undefined : "tshark --version failed";
  } catch {
    return "tshark is not installed (apt-get install tshark)";
  }
}

/** The directed broadcast address of a test network (`10.77.N.255`). */
export function broadcastOf(net: TestNetwork): string {
  return net.subnet.replace(/\.0\/24$/, ".255");
}

/** Arguments of a secure_device in a test network (beacon interval `interval`). */
export function deviceArgs(
  net: TestNetwork,
  dir: string,
  name: string,
  interval: number,
  extra: string[] = [],
): string[] {
  return [
    "--secret-key-file",
    `${dir}/${name}.key_secret`,
    "--generate-missing",
    "--name",
    name,
    "--bind",
    "tcp://0.0.0.0:*",
    "--broadcast",
    broadcastOf(net),
    "--interval",
    String(interval),
    ...extra,
  ];
}

/** A started device: its process, UUID and the `beaconing` event. */
export interface Device {
  proc: RoleProcess;
  uuid: string;
  beaconing: RoleEvent;
}

/** Starts a secure_device on `host` and waits until it beacons. */
export async function startDevice(
  net: TestNetwork,
  host: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Device> {
  const proc = await spawnRole("24", "secure_device", args, {
    netns: net.host(host).netns,
    env,
  });
  try {
    const beaconing = await proc.event("beaconing", undefined, { timeout: 30_000 });
    return { proc, uuid: String(beaconing.uuid), beaconing };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/** JSON lines a `--json` scanner printed so far. */
export function jsonLines(proc: RoleProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of proc.stdoutLines) {
    try {
      out.push(JSON.parse(line));
    } catch {
      // not JSON
    }
  }
  return out;
}

/** Waits for a `--json` line matching `pred`. */
export function jsonLine(
  proc: RoleProcess,
  pred: (line: Record<string, unknown>) => boolean,
  timeout = 30_000,
): Promise<Record<string, unknown>> {
  return waitFor(
    "a JSON line",
    () => jsonLines(proc).find(pred),
    { timeoutMs: timeout, intervalMs: 50 },
  ).catch((error) => {
    throw new Error(`${(error as Error).message}\n--- ${proc.name} ---\n${proc.tail()}`);
  });
}

/** Sends raw datagrams (each `count` times) from `host` to `address:port`. */
export async function sendUdp(
  net: TestNetwork,
  host: string,
  address: string,
  port: number,
  datagrams: Uint8Array[],
  count = 1,
): Promise<void> {
  const script = new URL("./testdata/send_udp.ts", import.meta.url).pathname;
  const out = await net.command(host, Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-net",
    script,
    address,
    String(port),
    String(count),
    ...datagrams.map((d) => toHex(d)),
  ], { stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`send_udp failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A running tshark capture in a namespace. */
export interface Capture extends AsyncDisposable {
  /**
   * Stops it; counts frames, TCP segments with payload, frames containing `needle`, and
   * (a control that the search works) frames containing the beacons' plaintext "ZRE".
   */
  finish(
    needle: string,
  ): Promise<{ frames: number; tcpPayloads: number; hits: number; control: number }>;
}

/**
 * Captures every interface of `host` (`-i any`) into a pcap file; resolves once tshark has
 * written its first packet (beacons flow all the time, so that proves it is capturing).
 */
export async function captureHost(net: TestNetwork, host: string, dir: string): Promise<Capture> {
  const file = `${dir}/capture-${host}.pcap`;
  const child = net.command(host, "tshark", ["-l", "-i", "any", "-w", file, "-P"], {
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      lines.push(...chunk.split("\n").filter((l) => l.trim() !== ""));
    }
  })();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGINT");
    } catch {
      // gone
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
    await waitFor("tshark's first packet", () => lines.length > 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const count = async (filter: string) => {
    const out = await new Deno.Command("tshark", {
      args: ["-r", file, "-Y", filter],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).length;
  };
  return {
    async finish(needle: string) {
      await stop();
      return {
        frames: await count("frame"),
        tcpPayloads: await count("tcp.len > 0"),
        hits: await count(`frame contains "${needle}"`),
        control: await count(`udp && frame contains "ZRE"`),
      };
    },
    [Symbol.asyncDispose]: stop,
  };
}
