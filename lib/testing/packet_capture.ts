/**
 * Packet capture for "no plaintext on the wire" tests: tshark on `lo`, filtered to one TCP
 * port, printing each segment's payload; `finish(needle)` counts the segments that carry a
 * known secret string (0 means none crossed the wire in clear). Used by Labs 09 and 19.
 *
 * @module
 */
import { waitFor } from "./wait_for.ts";

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
 * import { captureLoopback } from "@lib/testing/mod.ts";
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
