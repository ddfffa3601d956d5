/**
 * Helpers for the lib/zmq conformance tests: endpoints per transport and deadlines.
 *
 * @module
 */

import { deadline as withDeadline } from "../async/deadline.ts";
import { waitFor } from "../testing/wait_for.ts";
import type { SocketEvent } from "./socket_events.ts";

/**
 * The transports a conformance test runs over.
 *
 * @example
 * ```ts
 * import { TRANSPORTS } from "./test_util.ts";
 * for (const transport of TRANSPORTS) console.log(transport);
 * ```
 */
export const TRANSPORTS = ["tcp", "ipc", "inproc"] as const;
/**
 * One of TRANSPORTS.
 *
 * @example
 * ```ts
 * import type { Transport } from "./test_util.ts";
 * const transport: Transport = "ipc";
 * console.log(transport);
 * ```
 */
export type Transport = typeof TRANSPORTS[number];

let counter = 0;

/**
 * A fresh bind endpoint for a transport (tcp picks a free port; ipc lives in `dir`).
 *
 * @example
 * ```ts
 * import { Pull } from "@lib/zmq/mod.ts";
 * import { bindEndpoint } from "./test_util.ts";
 * const dir = await Deno.makeTempDir();
 * await using pull = new Pull();
 * await pull.bind(bindEndpoint("ipc", dir));
 * ```
 */
export function bindEndpoint(transport: Transport, dir: string): string {
  counter++;
  switch (transport) {
    case "tcp":
      return "tcp://127.0.0.1:*";
    case "ipc":
      return `ipc://${dir}/s${counter}.sock`;
    case "inproc":
      return `inproc://conformance-${Deno.pid}-${counter}`;
  }
}

/**
 * Rejects if `promise` does not settle within `ms`, naming what was awaited (the shared
 * `deadline` of `@lib/async` with the tests' argument order).
 *
 * @example
 * ```ts
 * import { Request } from "@lib/zmq/mod.ts";
 * import { deadline } from "./test_util.ts";
 * await using req = new Request({ relaxed: true });
 * req.connect("tcp://127.0.0.1:5555");
 * const reply = await deadline(req.receive(), 2000, "reply").catch((error) => error);
 * ```
 */
export function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(promise, ms, { what });
}

/**
 * Polls `check` until it returns true or the deadline passes (for conditions that have no
 * event, e.g. "the subscription has reached the publisher"): `waitFor` of `@lib/testing`.
 *
 * @example
 * ```ts
 * import { until } from "./test_util.ts";
 * const started = performance.now();
 * await until(() => performance.now() - started > 10, 3000, "10 ms to pass");
 * ```
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  await waitFor(what, check, { timeoutMs: ms, intervalMs: 5 });
}

/**
 * The first event of `events` that `match` accepts; rejects if the events end first.
 *
 * @example
 * ```ts
 * import { Request } from "@lib/zmq/mod.ts";
 * import { nextMatching } from "./test_util.ts";
 * await using req = new Request();
 * req.connect("tcp://127.0.0.1:9");
 * const retry = await nextMatching(req.events, (e) => e.type === "connect:retry");
 * ```
 */
export async function nextMatching(
  events: AsyncIterable<SocketEvent>,
  match: (event: SocketEvent) => boolean,
): Promise<SocketEvent> {
  for await (const event of events) if (match(event)) return event;
  throw new Error("the events ended before the event");
}

/**
 * UTF-8 decode of a frame.
 *
 * @example
 * ```ts
 * import { text } from "./test_util.ts";
 * console.log(text(new Uint8Array([104, 105]))); // "hi"
 * ```
 */
export function text(frame: Uint8Array): string {
  return new TextDecoder().decode(frame);
}

/**
 * Starts a fixture of `lib/zmq/testdata/` as its own Deno process (the binding's FFI, env and
 * read permissions), stdout piped unless told otherwise.
 *
 * @example
 * ```ts ignore
 * import { spawnFixture } from "./test_util.ts";
 * const child = spawnFixture("echo_router.ts");
 * child.kill("SIGKILL");
 * await child.status;
 * ```
 */
export function spawnFixture(
  name: string,
  args: string[] = [],
  stdout: "piped" | "null" = "piped",
): Deno.ChildProcess {
  const path = new URL(`./testdata/${name}`, import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", "--allow-env", "--allow-read", path, ...args],
    stdout,
    stderr: "inherit",
  }).spawn();
}
