/**
 * `deno task new NN slug "Title" "Pattern" [--role NAME]`: scaffolds `labs/NN-slug/` in the
 * house shape (manifest, workspace member, a role stub on `runRole`, `internal/protocol.ts`
 * with its unit test, `<slug>_test.ts` with a real-process test, `testing.ts`, `bench.ts`
 * and a SUMMARY.md skeleton), then runs `deno task sync`. An id or slug that exists already
 * is refused with one line, exit 2.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { REPO_ROOT } from "./manifest.ts";
import { sync } from "./sync.ts";
import { parseToolArgs } from "./tool_args.ts";

/** What a new lab is made from. */
export interface NewLabSpec {
  /** Two digits, e.g. "07". */
  id: string;
  /** Folder suffix, lower-case words joined by `-`. */
  slug: string;
  title: string;
  pattern: string;
  /** The role stub's name (default: `<slug with _>_server`). */
  role?: string;
}

/**
 * Checks a spec against the labs that exist and returns it completed (id padded, role
 * named), or throws one line saying what was expected and what was got.
 *
 * @example
 * ```ts
 * import { checkNewLab } from "@lib/tooling/new_lab.ts";
 *
 * const spec = checkNewLab({ id: "7", slug: "policy-sync", title: "T", pattern: "Clone" }, []);
 * console.log(spec.id, spec.role); // "07" "policy_sync_server"
 * ```
 */
export function checkNewLab(spec: NewLabSpec, existingFolders: string[]): Required<NewLabSpec> {
  if (!/^\d{1,2}$/.test(spec.id)) {
    throw new Error(`expected a lab id of one or two digits, got ${JSON.stringify(spec.id)}`);
  }
  const id = spec.id.padStart(2, "0");
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(spec.slug)) {
    throw new Error(
      `expected a slug of lower-case words joined by "-" (e.g. policy-sync), got ${
        JSON.stringify(spec.slug)
      }`,
    );
  }
  for (const [field, value] of [["title", spec.title], ["pattern", spec.pattern]]) {
    if (value.trim() === "") throw new Error(`expected a non-empty ${field}, got ""`);
  }
  const role = spec.role ?? `${spec.slug.replaceAll("-", "_")}_server`;
  if (!/^[a-z][a-z0-9_]*$/.test(role)) {
    throw new Error(`expected a role name in snake_case, got ${JSON.stringify(role)}`);
  }
  const sameId = existingFolders.find((f) => f.startsWith(`${id}-`));
  if (sameId) throw new Error(`lab ${id} exists already (labs/${sameId})`);
  const sameSlug = existingFolders.find((f) => f.slice(3) === spec.slug);
  if (sameSlug) throw new Error(`the slug "${spec.slug}" is taken (labs/${sameSlug})`);
  return { id, slug: spec.slug, title: spec.title.trim(), pattern: spec.pattern.trim(), role };
}

/**
 * Every file of the new lab, path relative to the lab folder → text.
 *
 * @example
 * ```ts
 * import { labFiles } from "@lib/tooling/new_lab.ts";
 *
 * const files = labFiles({ id: "99", slug: "demo", title: "Demo", pattern: "PUB-SUB", role: "demo_server" });
 * console.log([...files.keys()].includes("cmd/demo_server.ts")); // true
 * ```
 */
export function labFiles(spec: Required<NewLabSpec>): Map<string, string> {
  const { id, slug, title, pattern, role } = spec;
  const testName = slug.replaceAll("-", "_");
  const port = `55${id}`;
  const files = new Map<string, string>();
  const manifest = {
    id,
    slug,
    title,
    pattern,
    status: "in-progress",
    roles: [{
      name: role,
      entry: `cmd/${role}.ts`,
      alias: "server",
      summary: "REP server: answers pings (the scaffold's stub; replace with the lab's role)",
      permissions: ["ffi", "env", "read"],
    }],
    demo: [{ role, args: ["--bind", `tcp://127.0.0.1:${port}`] }],
    bench: "bench.ts",
  };
  files.set("manifest.json", JSON.stringify(manifest, null, 2) + "\n");
  files.set("deno.json", "{}\n");

  files.set(
    "internal/protocol.ts",
    `/**
 * Lab ${id} wire protocol: one msgpack frame per message, checked by a schema on the way in
 * (a malformed frame throws BadMessageError, which the role logs as \`bad_message\` and drops).
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";

/** A request: \`{ kind: "ping", seq }\`. */
export const Ping = s.object({ kind: s.literal("ping"), seq: s.int({ min: 0 }) }, { strict: true });
/** A request. */
export type Ping = Infer<typeof Ping>;

/** The answer to a ping: the same \`seq\` and the name of the role that answered. */
export const Pong = s.object({ kind: s.literal("pong"), seq: s.int({ min: 0 }), role: s.string() });
/** The answer to a ping. */
export type Pong = Infer<typeof Pong>;

/** The answer to a malformed request: what was wrong with it. */
export const Refusal = s.object({ kind: s.literal("error"), reason: s.string() });
/** The answer to a malformed request. */
export type Refusal = Infer<typeof Refusal>;

/**
 * Encodes a ping.
 *
 * @example
 * \`\`\`ts
 * import { decodePing, encodePing } from "./protocol.ts";
 *
 * console.log(decodePing([encodePing(7)]).seq); // 7
 * \`\`\`
 */
export function encodePing(seq: number): Uint8Array {
  return encode({ kind: "ping", seq } satisfies Ping);
}

/**
 * Decodes a request of one frame; throws BadMessageError otherwise.
 *
 * @example
 * \`\`\`ts
 * import { decodePing, encodePing } from "./protocol.ts";
 *
 * const ping = decodePing([encodePing(1)]); // { kind: "ping", seq: 1 }
 * \`\`\`
 */
export function decodePing(frames: Uint8Array[]): Ping {
  return decode(oneFrame(frames), Ping);
}

/**
 * Encodes the answer to \`seq\`.
 *
 * @example
 * \`\`\`ts
 * import { decodeReply, encodePong } from "./protocol.ts";
 *
 * console.log(decodeReply([encodePong(3, "${role}")])); // { kind: "pong", seq: 3, role: "${role}" }
 * \`\`\`
 */
export function encodePong(seq: number, role: string): Uint8Array {
  return encode({ kind: "pong", seq, role } satisfies Pong);
}

/**
 * Encodes the answer to a malformed request.
 *
 * @example
 * \`\`\`ts
 * import { encodeRefusal } from "./protocol.ts";
 *
 * const frame = encodeRefusal("seq: expected integer >= 0, got -1");
 * \`\`\`
 */
export function encodeRefusal(reason: string): Uint8Array {
  return encode({ kind: "error", reason } satisfies Refusal);
}

/**
 * Decodes a reply (a pong or a refusal); throws BadMessageError otherwise.
 *
 * @example
 * \`\`\`ts
 * import { decodeReply, encodeRefusal } from "./protocol.ts";
 *
 * console.log(decodeReply([encodeRefusal("no")]).kind); // "error"
 * \`\`\`
 */
export function decodeReply(frames: Uint8Array[]): Pong | Refusal {
  return decode(oneFrame(frames), s.oneOf(Pong, Refusal));
}

function oneFrame(frames: Uint8Array[]): Uint8Array {
  if (frames.length !== 1) throw new BadMessageError(\`expected 1 frame, got \${frames.length}\`);
  return frames[0];
}
`,
  );

  files.set(
    "internal/protocol_test.ts",
    `import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import { decodePing, decodeReply, encodePing, encodePong, encodeRefusal } from "./protocol.ts";

Deno.test("a ping and its pong round-trip", () => {
  assert.deepEqual(decodePing([encodePing(42)]), { kind: "ping", seq: 42 });
  assert.deepEqual(decodeReply([encodePong(42, "${role}")]), {
    kind: "pong",
    seq: 42,
    role: "${role}",
  });
  assert.deepEqual(decodeReply([encodeRefusal("why")]), { kind: "error", reason: "why" });
});

Deno.test("malformed requests throw BadMessageError saying what was wrong", () => {
  const cases: [string, Uint8Array[]][] = [
    ["not msgpack", [new Uint8Array([0xc1])]],
    ["wrong kind", [encode({ kind: "pong", seq: 1 })]],
    ["negative seq", [encode({ kind: "ping", seq: -1 })]],
    ["extra key", [encode({ kind: "ping", seq: 1, x: 1 })]],
    ["two frames", [encodePing(1), encodePing(2)]],
  ];
  for (const [name, frames] of cases) {
    assert.throws(() => decodePing(frames), BadMessageError, name);
  }
});
`,
  );

  files.set(
    `cmd/${role}.ts`,
    `/**
 * ${role}: the stub role of Lab ${id} (${title}, ${pattern}). Binds a REP socket and answers
 * each ping with a pong; a malformed request gets an error reply (REP must answer) and is
 * logged as \`bad_message\`. Replace it with the lab's real role; keep it thin: parse the
 * config, wire the parts from \`internal/\`, run.
 *
 * @module
 */

import { BadMessageError } from "@lib/codec/mod.ts";
import { endpoint, runRole } from "@lib/role/mod.ts";
import { Reply } from "@lib/zmq/mod.ts";
import { decodePing, encodePong, encodeRefusal } from "../internal/protocol.ts";

interface Options {
  bind: string;
}

await runRole<Options>({
  name: "${role}",
  summary: "REP server: answers pings (the scaffold's stub; replace with the lab's role)",
  configure: (cmd) =>
    cmd.option("--bind <endpoint>", "REP endpoint to bind", endpoint, "tcp://127.0.0.1:${port}"),
  async run(options, ctx) {
    const rep = new Reply();
    await rep.bind(options.bind);
    ctx.listening(rep);
    await ctx.serve(rep, async (frames) => {
      try {
        const ping = decodePing(frames);
        await rep.send(encodePong(ping.seq, ctx.role));
      } catch (error) {
        // A REP socket must answer every request before it can take the next one.
        if (error instanceof BadMessageError) await rep.send(encodeRefusal(error.reason));
        throw error; // serve() logs it as bad_message and goes on
      }
    }, { name: "rep" });
  },
});
`,
  );

  files.set(
    "testing.ts",
    `/**
 * Lab ${id} test helpers: start the real roles on ephemeral ports and talk to them.
 *
 * @module
 */

import { type RoleProcess, spawnRole } from "@lib/testing/mod.ts";
import { Request } from "@lib/zmq/mod.ts";
import { decodeReply, type Pong, type Refusal } from "./internal/protocol.ts";

/** A running ${role} and the endpoint it really bound. */
export interface Server extends AsyncDisposable {
  proc: RoleProcess;
  endpoint: string;
}

/**
 * Starts ${role} on an ephemeral TCP port; waits for its \`listening\` event.
 *
 * @example
 * \`\`\`ts
 * import { startServer } from "./testing.ts";
 *
 * await using server = await startServer();
 * console.log(server.endpoint); // "tcp://127.0.0.1:41234"
 * \`\`\`
 */
export async function startServer(args: string[] = []): Promise<Server> {
  const proc = await spawnRole("${id}", "${role}", ["--bind", "tcp://127.0.0.1:*", ...args]);
  try {
    const { endpoint } = await proc.event("listening");
    return { proc, endpoint: String(endpoint), [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose]() };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Sends one request (frames) over a fresh REQ socket and decodes the reply; rejects with
 * EAGAIN when no reply comes within \`timeoutMs\`.
 *
 * @example
 * \`\`\`ts
 * import { encodePing } from "./internal/protocol.ts";
 * import { request } from "./testing.ts";
 *
 * const reply = await request("tcp://127.0.0.1:${port}", [encodePing(1)]);
 * \`\`\`
 */
export async function request(
  endpoint: string,
  frames: Uint8Array[],
  timeoutMs = 10_000,
): Promise<Pong | Refusal> {
  const req = new Request({ linger: 0, receiveTimeout: timeoutMs });
  try {
    req.connect(endpoint);
    await req.send(frames);
    return decodeReply(await req.receive());
  } finally {
    req.close();
  }
}
`,
  );

  files.set(
    `${testName}_test.ts`,
    `/**
 * Process tests of Lab ${id}: the real roles, run with the manifest's permissions on
 * ephemeral ports, observed through their replies and JSON log events.
 */
import assert from "node:assert/strict";
import { encodePing } from "./internal/protocol.ts";
import { request, startServer } from "./testing.ts";

Deno.test("${role} answers a ping, refuses a malformed request and keeps serving", async () => {
  await using server = await startServer();
  assert.deepEqual(await request(server.endpoint, [encodePing(7)]), {
    kind: "pong",
    seq: 7,
    role: "${role}",
  });
  const refused = await request(server.endpoint, [new TextEncoder().encode("garbage")]);
  assert.equal(refused.kind, "error");
  await server.proc.event("bad_message");
  assert.deepEqual(await request(server.endpoint, [encodePing(8)]), {
    kind: "pong",
    seq: 8,
    role: "${role}",
  });
  await server.proc.stop();
  await server.proc.event("stopped");
});
`,
  );

  files.set(
    "bench.ts",
    `/**
 * Lab ${id} benchmark: ping round trips per second through the real protocol (encode, REQ ->
 * REP over loopback TCP, schema-checked decode), beside raw REQ/REP round trips of the same
 * bytes measured in the same run.
 *
 * Run: \`deno run -A labs/${id}-${slug}/bench.ts [round-trips]\` (default 5000).
 *
 * @module
 */

import { Reply, Request, terminate } from "@lib/zmq/mod.ts";
import { decodePing, decodeReply, encodePing, encodePong } from "./internal/protocol.ts";

const total = Number(Deno.args[0] ?? 5000);

/** Round trips per second; \`decode\` true runs the protocol on both sides. */
async function run(decode: boolean): Promise<number> {
  const rep = new Reply();
  await rep.bind("tcp://127.0.0.1:*");
  const req = new Request();
  req.connect(rep.lastEndpoint!);
  const ping = encodePing(1);
  const pong = encodePong(1, "bench");
  const server = (async () => {
    for (let i = 0; i < total; i++) {
      const frames = await rep.receive();
      await rep.send(decode ? encodePong(decodePing(frames).seq, "bench") : pong);
    }
  })();
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    await req.send(ping);
    const reply = await req.receive();
    if (decode) decodeReply(reply);
  }
  const seconds = (performance.now() - started) / 1000;
  await server;
  req.close();
  rep.close();
  return total / seconds;
}

const raw = await run(false);
const lab = await run(true);
console.log(\`lab${id}: \${Math.round(lab)} round trips/s with the protocol (\${total} pings)\`);
console.log(\`raw REQ/REP: \${Math.round(raw)} round trips/s; ratio \${(lab / raw).toFixed(2)}\`);
await terminate();
`,
  );

  files.set(
    "SUMMARY.md",
    `# Lab ${id} — ${title} (${pattern})

> Scaffolded by \`deno task new\`: every section below is a skeleton to fill in. Keep the
> headings; each guarantee names the test that proves it.

## Pattern

TODO: the pattern in two paragraphs: which ZeroMQ sockets, why this pattern fits the
scenario of the course text, what it does not do.

## Roles

| Role | Task | What it does |
| ---- | ---- | ------------ |
| \`${role}\` | \`deno task lab${id}:server\` | REP server: answers pings (stub) |

## Who binds, who connects, and why

TODO: which side is stable (binds) and which comes and goes (connects).

## Wire protocol (\`internal/protocol.ts\`)

One msgpack frame per message:

\`\`\`
client (REQ)                                ${role} (REP)
  | [ msgpack {kind: "ping", seq} ]  ------->  |
  | <-------  [ msgpack {kind: "pong", seq, role} ]
  | <-------  [ msgpack {kind: "error", reason} ]   (malformed request)
\`\`\`

## How to run

\`\`\`sh
deno task lab${id} --duration 30s
deno task lab${id}:server --help
deno task test:lab${id}
\`\`\`

## What to observe

TODO: the log events and output that show the pattern working (\`listening\`, ...).

## Guarantees and the test that proves each

| Guarantee | Test |
| --------- | ---- |
| A ping gets a pong with the same seq | \`${testName}_test.ts\`: "${role} answers a ping, ..." |
| A malformed request is answered, logged once as \`bad_message\` and dropped; serving goes on | \`${testName}_test.ts\` (same test) |

## Bad input

Every malformed frame is logged as \`bad_message\` {reason} (rate-limited) and dropped; no
role crashes on input.

## Shutdown

SIGINT/SIGTERM: the role logs \`stopping\`, stops serving, closes its sockets and exits 0
within \`--shutdown-timeout\`.

## Benchmark (\`bench.ts\`)

TODO: the headline figure and its ratio to the raw peer measured in the same run
(\`deno run -A labs/${id}-${slug}/bench.ts\`).

## Known limits

TODO.
`,
  );
  return files;
}

async function labFolders(root: string): Promise<string[]> {
  const folders: string[] = [];
  for await (const entry of Deno.readDir(`${root}/labs`)) {
    if (entry.isDirectory && /^\d\d-/.test(entry.name)) folders.push(entry.name);
  }
  return folders;
}

/**
 * Writes the new lab under `root/labs/`, formats it and runs the sync; returns the lab's
 * folder name. Throws (one line) when the spec is refused.
 *
 * @example
 * ```ts
 * import { createLab } from "@lib/tooling/new_lab.ts";
 *
 * await createLab({ id: "99", slug: "demo", title: "Demo", pattern: "PUB-SUB" });
 * ```
 */
export async function createLab(spec: NewLabSpec, root: string = REPO_ROOT): Promise<string> {
  const full = checkNewLab(spec, await labFolders(root));
  const folder = `${full.id}-${full.slug}`;
  const dir = `${root}/labs/${folder}`;
  for (const [path, text] of labFiles(full)) {
    await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${path}`, text);
  }
  // Sync first: as a workspace member the lab gets the root's fmt options.
  await sync(root);
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", `labs/${folder}`],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!fmt.success) throw new Error(`deno fmt labs/${folder} failed (exit ${fmt.code})`);
  return folder;
}

const USAGE = 'usage: deno task new NN slug "Title" "Pattern" [--role NAME]';

if (import.meta.main) {
  const { spec, root } = parseToolArgs("new", USAGE, (args) => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { role: { type: "string" }, root: { type: "string", default: REPO_ROOT } },
    });
    if (positionals.length !== 4) {
      throw new Error(`expected NN slug "Title" "Pattern", got ${JSON.stringify(positionals)}`);
    }
    const [id, slug, title, pattern] = positionals;
    return { spec: { id, slug, title, pattern, role: values.role }, root: values.root };
  });
  let folder: string;
  try {
    checkNewLab(spec, await labFolders(root));
  } catch (error) {
    console.error(`new: error: ${(error as Error).message}`);
    Deno.exit(2);
  }
  try {
    folder = await createLab(spec, root);
  } catch (error) {
    console.error(`new: error: ${(error as Error).message}`);
    Deno.exit(1);
  }
  console.log(`new: created labs/${folder} and ran deno task sync`);
  console.log(`new: next: deno task test:lab${folder.slice(0, 2)}, then fill in SUMMARY.md`);
}
