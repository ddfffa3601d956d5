import assert from "node:assert/strict";
import {
  curveKeyPair,
  curvePublic,
  Dealer,
  Pull,
  Push,
  Router,
  z85Decode,
  z85Encode,
  ZapHandler,
} from "./mod.ts";
import { deadline, nextMatching, text } from "./test_util.ts";

Deno.test("Z85: the RFC 32 test vector round-trips", () => {
  const bytes = new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
  assert.equal(z85Encode(bytes), "HelloWorld");
  assert.deepEqual(z85Decode("HelloWorld"), bytes);
  assert.throws(() => z85Encode(new Uint8Array(3)), /multiples of 4 bytes, got 3/);
  assert.throws(() => z85Decode("abc"), /multiples of 5 characters, got 3/);
});

Deno.test("CURVE keys: 40-character Z85, public derivable from secret", () => {
  const { publicKey, secretKey } = curveKeyPair();
  assert.equal(publicKey.length, 40);
  assert.equal(secretKey.length, 40);
  assert.equal(curvePublic(secretKey), publicKey);
  assert.equal(z85Decode(publicKey).length, 32);
});

Deno.test("CURVE: the right server key works; a wrong one delivers nothing and fails the handshake", async () => {
  const server = curveKeyPair();
  await using pull = new Pull({ curveServer: true, curveSecretKey: server.secretKey });
  using serverEvents = pull.events.consumer();
  await pull.bind("tcp://127.0.0.1:*");
  const good = curveKeyPair();
  await using push = new Push({
    curveServerKey: server.publicKey,
    curvePublicKey: good.publicKey,
    curveSecretKey: good.secretKey,
  });
  push.connect(pull.lastEndpoint!);
  await push.send("secret payload");
  const [msg] = await deadline(pull.receive(), 5000, "message over CURVE");
  assert.equal(text(msg), "secret payload");

  const bad = curveKeyPair();
  const wrongServer = curveKeyPair();
  await using intruder = new Push({
    curveServerKey: wrongServer.publicKey,
    curvePublicKey: bad.publicKey,
    curveSecretKey: bad.secretKey,
  });
  intruder.connect(pull.lastEndpoint!);
  const sent = intruder.send("must not arrive");
  const failure = await deadline(
    nextMatching(serverEvents, (e) => e.type.startsWith("handshake:error")),
    5000,
    "handshake failure on the server",
  );
  assert.deepEqual(
    [failure.type, failure.type === "handshake:error:protocol" ? failure.error.code : undefined],
    ["handshake:error:protocol", "ZMTP_CRYPTOGRAPHIC"],
    JSON.stringify(failure),
  );
  pull.receiveTimeout = 300;
  await assert.rejects(pull.receive(), /timed out/);
  intruder.close({ linger: 0 });
  await sent.catch(() => {}); // queued for a peer that never completes the handshake
});

Deno.test("ZAP: one client key is allowed, another denied", async () => {
  const server = curveKeyPair();
  const allowed = curveKeyPair();
  const denied = curveKeyPair();
  const decisions: string[] = [];
  const zap = new ZapHandler(({ publicKey, mechanism }) => {
    assert.equal(mechanism, "CURVE");
    const ok = publicKey === allowed.publicKey;
    decisions.push(ok ? "allow" : "deny");
    return ok ? { status: 200, userId: "alice" } : { status: 400, text: "unknown key" };
  });
  await zap.start();
  try {
    await using router = new Router({
      curveServer: true,
      curveSecretKey: server.secretKey,
      zapDomain: "test",
    });
    using events = router.events.consumer();
    await router.bind("tcp://127.0.0.1:*");
    await using alice = new Dealer({
      curveServerKey: server.publicKey,
      curvePublicKey: allowed.publicKey,
      curveSecretKey: allowed.secretKey,
    });
    alice.connect(router.lastEndpoint!);
    await alice.send("hello from alice");
    const [, body] = await deadline(router.receive(), 5000, "allowed client's message");
    assert.equal(text(body), "hello from alice");

    await using mallory = new Dealer({
      curveServerKey: server.publicKey,
      curvePublicKey: denied.publicKey,
      curveSecretKey: denied.secretKey,
    });
    mallory.connect(router.lastEndpoint!);
    void mallory.send("hello from mallory").catch(() => {});
    const failure = await deadline(
      nextMatching(events, (e) => e.type === "handshake:error:auth"),
      5000,
      "auth failure",
    );
    assert.ok(failure.type === "handshake:error:auth");
    assert.equal(failure.status, 400);
    assert.equal(failure.error.code, "400");
    router.receiveTimeout = 300;
    await assert.rejects(router.receive(), /timed out/);
    assert.deepEqual([...new Set(decisions)].sort(), ["allow", "deny"]);
    mallory.close({ linger: 0 });
  } finally {
    zap.close();
  }
});
