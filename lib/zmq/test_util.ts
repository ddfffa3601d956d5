/**
 * Helpers for the lib/zmq conformance tests: endpoints per transport and deadlines.
 *
 * @module
 */

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
 * Rejects if `promise` does not settle within `ms`, naming what was awaited.
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
export async function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `check` until it returns true or the deadline passes (for conditions that have no
 * event, e.g. "the subscription has reached the publisher").
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
  const end = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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
