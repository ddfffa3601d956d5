/**
 * Helpers for the lib/zmq conformance tests: endpoints per transport and deadlines.
 *
 * @module
 */

/** The transports a conformance test runs over. */
export const TRANSPORTS = ["tcp", "ipc", "inproc"] as const;
/** One of TRANSPORTS. */
export type Transport = typeof TRANSPORTS[number];

let counter = 0;

/**
 * A fresh bind endpoint for a transport (tcp picks a free port; ipc lives in `dir`).
 *
 * @example
 * ```ts
 * await sock.bind(bindEndpoint("ipc", dir));
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
 * const [reply] = await deadline(req.receive(), 2000, "reply");
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
 * await until(async () => { await pub.send("t"); return received > 0; }, 3000, "subscription");
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

/** UTF-8 decode of a frame. */
export function text(frame: Uint8Array): string {
  return new TextDecoder().decode(frame);
}
