import assert from "node:assert/strict";
import { checkOrigin, listenAddress, tokenMatches } from "./upgrade.ts";

Deno.test("only an Origin on the allow-list passes; a missing one does not", () => {
  const allowed = new Set(["http://127.0.0.1:5516", "http://localhost:5516"]);
  assert.equal(checkOrigin("http://127.0.0.1:5516", allowed), true);
  assert.equal(checkOrigin("http://localhost:5516", allowed), true);
  assert.equal(checkOrigin("http://127.0.0.1:5517", allowed), false);
  assert.equal(checkOrigin("http://127.0.0.1:5516/", allowed), false);
  assert.equal(checkOrigin("null", allowed), false);
  assert.equal(checkOrigin(null, allowed), false);
});

Deno.test("tokens match only when equal", () => {
  assert.equal(tokenMatches("s3cret-token", "s3cret-token"), true);
  assert.equal(tokenMatches("s3cret-tokeN", "s3cret-token"), false);
  assert.equal(tokenMatches("s3cret-token-and-more", "s3cret-token"), false);
  assert.equal(tokenMatches("s3cret", "s3cret-token"), false);
  assert.equal(tokenMatches("", "s3cret-token"), false);
  assert.equal(tokenMatches(null, "s3cret-token"), false);
});

Deno.test("--listen takes host:port, [v6]:port and port 0", () => {
  assert.deepEqual(listenAddress("127.0.0.1:5516"), { hostname: "127.0.0.1", port: 5516 });
  assert.deepEqual(listenAddress("localhost:0"), { hostname: "localhost", port: 0 });
  assert.deepEqual(listenAddress("[::1]:8080"), { hostname: "::1", port: 8080 });
  for (const bad of ["5516", "127.0.0.1", "127.0.0.1:70000", "a b:1", ":80"]) {
    assert.throws(() => listenAddress(bad), /host:port/, bad);
  }
});
