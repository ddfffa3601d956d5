/**
 * Lab 05 test helpers: spawn the gateway, workers and the flooder on ephemeral endpoints,
 * read the chain and the client's acks, and check acks against the chain.
 *
 * @module
 */
import assert from "node:assert/strict";
import { toHex } from "@lib/async/mod.ts";
import {
  type RoleEvent,
  type RoleProcess,
  runOnce,
  spawnRole,
  spawnScript,
} from "@lib/testing/mod.ts";
import { encode } from "@lib/codec/mod.ts";
import { parseEntry } from "./internal/hash_chain.ts";

/** The lab id. */
export const LAB = "05";
/** An ephemeral TCP endpoint on loopback. */
export const ANY = "tcp://127.0.0.1:*";

/**
 * The hex form the gateway logs for a routing id.
 *
 * @example
 * ```ts
 * import { hexId } from "./testing.ts";
 * hexId("w1"); // "7731"
 * ```
 */
export function hexId(text: string): string {
  return toHex(new TextEncoder().encode(text));
}

/**
 * The gateway's bound endpoints, from its `listening` events.
 *
 * @example
 * ```ts
 * import { endpointsOf, spawnGateway } from "./testing.ts";
 * await using gateway = await spawnGateway();
 * const { frontend, backend } = await endpointsOf(gateway);
 * ```
 */
export async function endpointsOf(
  gateway: RoleProcess,
): Promise<{ frontend: string; backend: string }> {
  const endpoint = async (socket: string) =>
    String((await gateway.event("listening", (e) => e.socket === socket)).endpoint);
  return { frontend: await endpoint("frontend"), backend: await endpoint("backend") };
}

/**
 * Starts a gateway on ephemeral TCP ports.
 *
 * @example
 * ```ts
 * import { spawnGateway } from "./testing.ts";
 * await using gateway = await spawnGateway(["--max-inflight", "20"]);
 * ```
 */
export function spawnGateway(args: string[] = []): Promise<RoleProcess> {
  return spawnRole(LAB, "audit_gateway", ["--frontend", ANY, "--backend", ANY, ...args]);
}

/**
 * Starts a worker and waits until the gateway registered it.
 *
 * @example
 * ```ts
 * import { endpointsOf, spawnGateway, spawnWorker } from "./testing.ts";
 * await using gateway = await spawnGateway();
 * const { backend } = await endpointsOf(gateway);
 * await using worker = await spawnWorker(gateway, backend, "/tmp/audit.log", "w1");
 * ```
 */
export async function spawnWorker(
  gateway: RoleProcess,
  backend: string,
  chain: string,
  identity: string,
  args: string[] = [],
): Promise<RoleProcess> {
  const worker = await spawnRole(LAB, "archival_worker", [
    "--gateway",
    backend,
    "--chain",
    chain,
    "--identity",
    identity,
    ...args,
  ]);
  await gateway.event("worker_ready", (e) => e.worker === hexId(identity));
  return worker;
}

/**
 * Starts `testdata/flooder.ts` against a frontend and waits until it floods.
 *
 * @example
 * ```ts
 * import { spawnFlooder } from "./testing.ts";
 * await using flooder = await spawnFlooder("tcp://127.0.0.1:5551", "garbage");
 * ```
 */
export async function spawnFlooder(
  frontend: string,
  kind: "garbage" | "records",
): Promise<RoleProcess> {
  const flooder = spawnScript(
    new URL("./testdata/flooder.ts", import.meta.url).pathname,
    ["ffi", "env", "read"],
    ["--connect", frontend, "--kind", kind],
  );
  await flooder.event("flooding");
  return flooder;
}

/** An ack as the client writes it and as the chain holds it. */
export interface Ack {
  id: string;
  seq: number;
  hash: string;
}

/**
 * Reads the chain: id → entry; asserts every id appears once.
 *
 * @example
 * ```ts
 * import { readChain } from "./testing.ts";
 * const entries = await readChain("/tmp/audit.log");
 * ```
 */
export async function readChain(path: string): Promise<Map<string, Ack>> {
  const text = await Deno.readTextFile(path);
  const byId = new Map<string, Ack>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const entry = parseEntry(line);
    assert.ok(!byId.has(entry.id), `id ${entry.id} is in the chain twice`);
    byId.set(entry.id, { id: entry.id, seq: entry.seq, hash: entry.hash });
  }
  return byId;
}

/**
 * Reads an `--acks-out` file.
 *
 * @example
 * ```ts
 * import { readAcks } from "./testing.ts";
 * const acks = await readAcks("/tmp/acks.ndjson");
 * ```
 */
export async function readAcks(path: string): Promise<Ack[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/**
 * Asserts that every ack a client got is in the chain with the same seq and hash.
 *
 * @example
 * ```ts
 * import { assertAcksInChain, readAcks, readChain } from "./testing.ts";
 * assertAcksInChain(await readAcks("/tmp/acks.ndjson"), await readChain("/tmp/audit.log"));
 * ```
 */
export function assertAcksInChain(acks: Ack[], chain: Map<string, Ack>): void {
  for (const ack of acks) {
    const entry = chain.get(ack.id);
    assert.ok(entry, `acked id ${ack.id} is missing from the chain`);
    assert.deepEqual([entry.seq, entry.hash], [ack.seq, ack.hash], `ack of ${ack.id} differs`);
  }
}

/**
 * Runs `archival_worker verify <chain>`.
 *
 * @example
 * ```ts
 * import { verify } from "./testing.ts";
 * const { code, stdout } = await verify("/tmp/audit.log");
 * ```
 */
export async function verify(
  chain: string,
  args: string[] = [],
): Promise<{ code: number; stdout: string }> {
  const { code, stdout } = await runOnce(LAB, "archival_worker", ["verify", chain, ...args]);
  return { code, stdout };
}

/**
 * Waits for a client's `summary` event and its exit (asserted 0).
 *
 * @example
 * ```ts
 * import { spawnRole } from "@lib/testing/mod.ts";
 * import { clientSummary } from "./testing.ts";
 * await using client = await spawnRole("05", "audit_client", ["--records", "1"]);
 * const summary = await clientSummary(client);
 * ```
 */
export async function clientSummary(
  client: RoleProcess,
  timeout = 60_000,
): Promise<RoleEvent> {
  const summary = await client.event("summary", undefined, { timeout });
  const status = await client.wait();
  assert.equal(status.code, 0, `client exited ${status.code}\n${client.tail()}`);
  return summary;
}

const te = new TextEncoder();

/**
 * Raw msgpack `{id: <bytes as a str>, record: <raw value bytes>}`, for bodies an encoder
 * would refuse to write (invalid UTF-8, repeated keys).
 *
 * @example
 * ```ts
 * import { rawRequest } from "./testing.ts";
 * rawRequest([0x78], [0xc0]); // {id: "x", record: null}
 * ```
 */
export function rawRequest(id: number[], record: number[]): Uint8Array {
  return new Uint8Array([
    0x82,
    0xa2,
    ...te.encode("id"),
    0xa0 | id.length,
    ...id,
    0xa6,
    ...te.encode("record"),
    ...record,
  ]);
}

/**
 * Requests whose id is readable but which are invalid (issue 9 #7, #16, #20), each with
 * the reason the `invalid` reply must give: two ids that differ only in invalid UTF-8, a
 * `__proto__` key, a repeated key, an oversize body, an overlong id.
 *
 * @example
 * ```ts
 * import { invalidRequests } from "./testing.ts";
 * for (const { name, body, reason } of invalidRequests()) console.log(name, body.length, reason);
 * ```
 */
export function invalidRequests(): { name: string; body: Uint8Array; reason: RegExp }[] {
  return [
    {
      name: "utf8-a",
      body: rawRequest([0x78, 0xed, 0xa0, 0x80], [0xc0]),
      reason: /not valid UTF-8/,
    },
    {
      name: "utf8-b",
      body: rawRequest([0x78, 0xed, 0xa0, 0x81], [0xc0]),
      reason: /not valid UTF-8/,
    },
    {
      name: "proto",
      body: rawRequest([0x70], [0x81, 0xa9, ...te.encode("__proto__"), 0x01]),
      reason: /"__proto__" is not allowed/,
    },
    {
      name: "repeat",
      body: rawRequest([0x64], [0x82, 0xa1, 0x6b, 0x01, 0xa1, 0x6b, 0x02]),
      reason: /map key "k" repeated/,
    },
    {
      name: "oversize",
      body: encode({ id: "big", record: "x".repeat(70 * 1024) }),
      reason: /expected at most 65536 bytes/,
    },
    {
      name: "long id",
      body: encode({ id: "i".repeat(200), record: 1 }),
      reason: /id: expected 1\.\.128/,
    },
  ];
}
