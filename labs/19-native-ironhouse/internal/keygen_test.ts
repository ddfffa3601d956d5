import assert from "node:assert/strict";
import { checkLines, collectMeta, metaPair, showLines } from "./keygen.ts";

Deno.test("metaPair: key=value with ZPL keys; quotes and control characters refused", () => {
  assert.deepEqual(metaPair(" site = plant 7 "), ["site", "plant 7"]);
  assert.deepEqual(metaPair("a=b=c"), ["a", "b=c"]);
  assert.deepEqual(metaPair("empty="), ["empty", ""]);
  for (const bad of ["novalue", "=x", "bad key=1", 'q=a"b', "c=a\nb"]) {
    assert.throws(() => metaPair(bad), Error, bad);
  }
  assert.deepEqual(collectMeta("b=2", collectMeta("a=1", {})), { a: "1", b: "2" });
});

Deno.test("show and check lines name files, keys' fingerprints and problems", () => {
  const lines = showLines("x.key", {
    publicKey: "P",
    fingerprint: "F",
    metadata: { name: "x", site: "s" },
    kind: "public",
  });
  assert.deepEqual(lines.slice(1), [
    "public-key:  P",
    "fingerprint: F",
    "metadata:",
    "  name = x",
    "  site = s",
  ]);
  const table = checkLines([
    { file: "a.key", kind: "public", ok: true, fingerprint: "0123456789abcdef", problems: [] },
    { file: "a.key_secret", kind: "secret", ok: false, problems: ["expected mode 0600"] },
  ]);
  assert.match(table[0], /^OK +a\.key +public +0123456789abcdef$/);
  assert.match(table[1], /^BAD +a\.key_secret +secret +-{16} +expected mode 0600$/);
  assert.equal(table[2], "2 file(s), 1 with problems");
});

Deno.test("metaPair refuses keys pyzmq would read as the certificate's keys (public-key*, secret-key*)", () => {
  // pyzmq's load_certificate takes any line starting with public-key / secret-key, even in
  // the metadata section: `--meta public-keyz=... --meta secret-keyz=...` replaced both keys.
  for (const bad of ["public-key=x", "secret-key=x", "public-keyz=x", "Secret-Key-2=x"]) {
    assert.throws(() => metaPair(bad), /public-key or secret-key/, bad);
  }
  assert.deepEqual(metaPair("key-public=x"), ["key-public", "x"]);
});

Deno.test("show escapes control characters in metadata read from a crafted file", () => {
  const lines = showLines("x.key", {
    publicKey: "P",
    fingerprint: "F",
    metadata: { site: "a\x1b[2Jb" },
    kind: "public",
  });
  assert.equal(lines.at(-1), "  site = a\\x1b[2Jb");
});
