import assert from "node:assert/strict";
import { LineSplitter, readLines } from "./line_source.ts";

const enc = new TextEncoder();

Deno.test("splitter joins chunks, strips CR and flags oversize lines", () => {
  const s = new LineSplitter(8);
  assert.deepEqual(s.push(enc.encode("ab")), []);
  assert.deepEqual(s.push(enc.encode("c\r\nde\n0123456789ABC")), [{ line: "abc" }, { line: "de" }]);
  assert.deepEqual(s.push(enc.encode("DEF\nlast")), [{ line: "01234567", oversize: 16 }]);
  assert.equal(s.pending, true);
  assert.deepEqual(s.end(), [{ line: "last" }]);
  assert.deepEqual(s.end(), []);
});

Deno.test("readLines reads files and directories in order, follow picks up appends", async () => {
  const dir = Deno.makeTempDirSync();
  const ac = new AbortController();
  try {
    Deno.mkdirSync(`${dir}/logs`);
    Deno.writeTextFileSync(`${dir}/logs/a.log`, "a1\na2\n");
    Deno.writeTextFileSync(`${dir}/logs/b.log`, "b1\nb2");
    Deno.writeTextFileSync(`${dir}/single.log`, "s1\n");
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    const once: string[] = [];
    for await (
      const l of readLines({
        inputs: [`${dir}/single.log`, `${dir}/logs`],
        follow: false,
        maxLineBytes: 100,
        pollInterval: 10,
        signal: ac.signal,
        sleep,
      })
    ) {
      once.push(l.line);
    }
    assert.deepEqual(once, ["s1", "a1", "a2", "b1", "b2"]);

    const seen: string[] = [];
    const it = readLines({
      inputs: [`${dir}/logs`],
      follow: true,
      maxLineBytes: 100,
      pollInterval: 10,
      signal: ac.signal,
      sleep,
    });
    const next = async () => (await it.next()).value?.line;
    for (let i = 0; i < 3; i++) seen.push((await next())!);
    assert.deepEqual(seen, ["a1", "a2", "b1"]); // b2 has no newline yet: held back in follow mode
    Deno.writeTextFileSync(`${dir}/logs/b.log`, "\nb3\n", { append: true });
    Deno.writeTextFileSync(`${dir}/logs/c.log`, "c1\n");
    assert.equal(await next(), "b2");
    assert.equal(await next(), "b3");
    assert.equal(await next(), "c1");
    Deno.writeTextFileSync(`${dir}/logs/a.log`, "new\n"); // truncated (rotated in place)
    assert.equal(await next(), "new");
    ac.abort();
    assert.equal((await it.next()).done, true);
  } finally {
    ac.abort();
    Deno.removeSync(dir, { recursive: true });
  }
});
