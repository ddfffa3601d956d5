import assert from "node:assert/strict";
import { LineSplitter, readLines, readRange } from "./line_source.ts";

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

Deno.test("file lines carry their byte ranges; readRange reads a range back identically", async () => {
  const dir = Deno.makeTempDirSync();
  const ac = new AbortController();
  try {
    const path = `${dir}/a.log`;
    // CRLF, a multi-byte character, an oversize line and an unterminated last line.
    Deno.writeTextFileSync(path, "ab\r\nçé\n0123456789ABCDEF\nlast");
    const ino = Deno.statSync(path).ino;
    const read = async (resume?: Map<string, { ino: number | null; offset: number }>) => {
      const out = [];
      for await (
        const l of readLines({
          inputs: [path],
          follow: false,
          maxLineBytes: 8,
          pollInterval: 10,
          signal: ac.signal,
          sleep: () => Promise.resolve(),
          resume,
        })
      ) out.push(l);
      return out;
    };
    const lines = await read();
    assert.deepEqual(lines.map((l) => [l.line, l.at?.start, l.at?.end]), [
      ["ab", 0, 4],
      ["çé", 4, 9],
      ["01234567", 9, 26],
      ["last", 26, 30],
    ]);
    assert.equal(lines[2].oversize, 16);
    assert.equal(lines[0].at?.ino, ino);
    const again = await readRange({ path, ino, start: 4, end: 30 }, 8);
    assert.deepEqual(again, lines.slice(1), "same lines, flags and positions");
    assert.equal(await readRange({ path, ino: ino! + 1, start: 0, end: 4 }, 8), null, "replaced");
    assert.equal(await readRange({ path, ino, start: 0, end: 99 }, 8), null, "shorter");
    // Resume from a checkpointed offset: only the lines after it.
    const resumed = await read(new Map([[path, { ino, offset: 9 }]]));
    assert.deepEqual(resumed.map((l) => l.line), ["01234567", "last"]);
    // Another inode at that path (rotated): read from the start.
    const rotated = await read(new Map([[path, { ino: ino! + 1, offset: 9 }]]));
    assert.equal(rotated.length, 4);
  } finally {
    ac.abort();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("invalid UTF-8 is kept with U+FFFD and flagged (issue 9 #15)", () => {
  const s = new LineSplitter(100);
  const lines = s.push(new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x6f, 0x6b, 0x0a]));
  assert.deepEqual(lines, [{ line: "caf\uFFFD", invalidUtf8: true }, { line: "ok" }]);
});

Deno.test("symlinked files in an input directory are read; loops and dangling links are skipped (issue 9 #12)", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/store`);
    Deno.mkdirSync(`${dir}/containers`);
    Deno.writeTextFileSync(`${dir}/store/pod-a.log`, "a1\na2\n");
    Deno.writeTextFileSync(`${dir}/containers/plain.log`, "p1\n");
    Deno.symlinkSync(`${dir}/store/pod-a.log`, `${dir}/containers/pod-a.log`);
    Deno.symlinkSync(`${dir}/containers/loop-b`, `${dir}/containers/loop-a`);
    Deno.symlinkSync(`${dir}/containers/loop-a`, `${dir}/containers/loop-b`);
    Deno.symlinkSync(`${dir}/nowhere`, `${dir}/containers/dangling.log`);
    Deno.symlinkSync(`${dir}/containers`, `${dir}/containers/self`); // a directory: not descended
    const got: string[] = [];
    for await (
      const l of readLines({
        inputs: [`${dir}/containers`],
        follow: false,
        maxLineBytes: 100,
        pollInterval: 10,
        signal: new AbortController().signal,
        sleep: () => Promise.resolve(),
      })
    ) {
      got.push(l.line);
    }
    assert.deepEqual(got, ["p1", "a1", "a2"]); // name order: plain.log, pod-a.log
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
