/**
 * The benchmark's baseline: libzmq's own `zmq_proxy` (ROUTER frontend, DEALER backend, no
 * capture) in this process, called through FFI on a blocking-pool thread. Prints one JSON
 * line `{frontend, backend}` with the bound endpoints, then runs until killed.
 *
 * @module
 */
import { loadLibzmq } from "@lib/zmq/mod.ts";

const ZMQ_ROUTER = 6;
const ZMQ_DEALER = 5;
const ZMQ_LAST_ENDPOINT = 32;
const ZMQ_SNDHWM = 23;
const ZMQ_RCVHWM = 24;

const lib = Deno.dlopen(loadLibzmq().path, {
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_getsockopt: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  zmq_proxy: { parameters: ["pointer", "pointer", "pointer"], result: "i32", nonblocking: true },
});
const z = lib.symbols;
const cstr = (s: string) => new TextEncoder().encode(s + "\0");
const hwm = Number(Deno.args[0] ?? 1000);

function socket(
  ctx: Deno.PointerValue,
  type: number,
): { handle: Deno.PointerValue; endpoint: string } {
  const handle = z.zmq_socket(ctx, type);
  const v = new Int32Array([hwm]);
  z.zmq_setsockopt(handle, ZMQ_SNDHWM, v, 4n);
  z.zmq_setsockopt(handle, ZMQ_RCVHWM, v, 4n);
  if (z.zmq_bind(handle, cstr("tcp://127.0.0.1:*")) !== 0) throw new Error("bind failed");
  const buf = new Uint8Array(256);
  const len = new BigUint64Array([256n]);
  z.zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, buf, new Uint8Array(len.buffer));
  const endpoint = new TextDecoder().decode(buf.subarray(0, Number(len[0]) - 1));
  return { handle, endpoint };
}

const ctx = z.zmq_ctx_new();
const frontend = socket(ctx, ZMQ_ROUTER);
const backend = socket(ctx, ZMQ_DEALER);
console.log(JSON.stringify({ frontend: frontend.endpoint, backend: backend.endpoint }));
await z.zmq_proxy(frontend.handle, backend.handle, null);
