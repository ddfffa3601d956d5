/**
 * A raw ZMTP 3.0 peer for tests: it writes frames as fast as TCP takes them and never
 * reads, as a hostile or broken peer does (a libzmq socket would keep its own copy and
 * apply its own limits).
 *
 * @module
 */

/** A raw ZMTP 3.0 connection (NULL mechanism) to a libzmq socket. */
export interface ZmtpPeer extends AsyncDisposable {
  /** Writes one single-frame message; false once the other side has closed. */
  send(frame: Uint8Array): Promise<boolean>;
  /** Writes many single-frame messages in large writes; how many went out. */
  sendAll(frames: Iterable<Uint8Array>): Promise<number>;
  close(): void;
}

function frameBytes(body: Uint8Array, command = false): Uint8Array {
  const long = body.length > 255;
  const head = new Uint8Array(long ? 9 : 2);
  head[0] = (command ? 0x04 : 0) | (long ? 0x02 : 0);
  if (long) new DataView(head.buffer).setBigUint64(1, BigInt(body.length));
  else head[1] = body.length;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * Connects to `endpoint` (tcp://host:port) as a ZMTP 3.0 peer of `socketType` (e.g.
 * `XSUB`): greeting and READY, then frames exactly as given. It never reads; the kernel
 * buffers what the other side sends.
 *
 * @example
 * ```ts
 * import { zmtpPeer } from "@lib/testing/mod.ts";
 * await using peer = await zmtpPeer("tcp://127.0.0.1:5542", "XSUB");
 * await peer.send(new Uint8Array([1, ...new TextEncoder().encode("plant-a/")]));
 * ```
 */
export async function zmtpPeer(endpoint: string, socketType: string): Promise<ZmtpPeer> {
  const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`expected tcp://host:port, got ${endpoint}`);
  const conn = await Deno.connect({ hostname: m[1], port: Number(m[2]) });
  const te = new TextEncoder();
  const greeting = new Uint8Array(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3; // version 3.0
  greeting.set(te.encode("NULL"), 12);
  const name = te.encode("Socket-Type");
  const value = te.encode(socketType);
  const ready = new Uint8Array(6 + 1 + name.length + 4 + value.length);
  ready.set([5, ...te.encode("READY"), name.length]);
  ready.set(name, 7);
  new DataView(ready.buffer).setUint32(7 + name.length, value.length);
  ready.set(value, 11 + name.length);
  let open = true;
  const write = async (bytes: Uint8Array) => {
    if (!open) return false;
    try {
      for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
      return true;
    } catch {
      open = false;
      return false;
    }
  };
  await write(greeting);
  await write(frameBytes(ready, true));
  const close = () => {
    if (!open) return;
    open = false;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  return {
    send: (frame) => write(frameBytes(frame)),
    async sendAll(frames) {
      let sent = 0, batch: Uint8Array[] = [], size = 0;
      const flush = async () => {
        const out = new Uint8Array(size);
        let at = 0;
        for (const b of batch) {
          out.set(b, at);
          at += b.length;
        }
        const ok = await write(out);
        if (ok) sent += batch.length;
        batch = [];
        size = 0;
        return ok;
      };
      for (const frame of frames) {
        const bytes = frameBytes(frame);
        batch.push(bytes);
        size += bytes.length;
        if (size >= 256 * 1024 && !(await flush())) return sent;
      }
      if (batch.length > 0) await flush();
      return sent;
    },
    close,
    [Symbol.asyncDispose]: () => Promise.resolve(close()),
  };
}
