import assert from "node:assert/strict";
import { curveKeyPair, Reply } from "@lib/zmq/mod.ts";
import { greetingMechanism, probeMechanism } from "./mechanism_probe.ts";

function greeting(mechanism: string, version = 3): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, version, 0]);
  bytes.set(new TextEncoder().encode(mechanism), 12);
  return bytes;
}

Deno.test("mechanism probe: reads the mechanism of a ZMTP 3 greeting, nothing else", () => {
  assert.equal(greetingMechanism(greeting("NULL")), "NULL");
  assert.equal(greetingMechanism(greeting("CURVE")), "CURVE");
  assert.equal(greetingMechanism(greeting("CURVE").subarray(0, 63)), undefined, "too short");
  assert.equal(greetingMechanism(greeting("NULL", 2)), undefined, "ZMTP 2 has no mechanism");
  assert.equal(
    greetingMechanism(new TextEncoder().encode("HTTP/1.1 200 OK\r\n".repeat(4))),
    undefined,
  );
  assert.equal(greetingMechanism(greeting("bad name")), undefined);
});

Deno.test("mechanism probe: a plain and a CURVE server say which they are", async () => {
  const keys = curveKeyPair();
  for (
    const [expected, options] of [
      ["NULL", {}],
      ["CURVE", { curveServer: true, curveSecretKey: keys.secretKey }],
    ] as const
  ) {
    await using rep = new Reply({ linger: 0, ...options });
    await rep.bind("tcp://127.0.0.1:*");
    assert.equal(await probeMechanism(rep.lastEndpoint!, 10_000), expected);
  }
});

Deno.test("mechanism probe: a peer that hangs up without a greeting gives undefined within the timeout", async () => {
  // A port we keep (a bound-and-closed port may be taken by a parallel suite's server).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })();
  try {
    const endpoint = `tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    assert.equal(await probeMechanism(endpoint, 300), undefined);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
});
