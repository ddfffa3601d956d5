import assert from "node:assert/strict";
import { curveKeyPair, Dealer, Router, ZapHandler } from "./mod.ts";
import { deadline, text } from "./test_util.ts";

Deno.test("receiveWithMetadata: the ZAP User-Id of a CURVE peer, whatever routing id it claims", async () => {
  const server = curveKeyPair();
  const alice = curveKeyPair();
  const bob = curveKeyPair();
  const zap = new ZapHandler(({ publicKey }) => ({ status: 200, userId: publicKey }));
  await zap.start();
  try {
    await using router = new Router({ curveServer: true, curveSecretKey: server.secretKey });
    await router.bind("tcp://127.0.0.1:*");
    const dial = (keys: typeof alice, routingId: string) => {
      const dealer = new Dealer({
        curveServerKey: server.publicKey,
        curvePublicKey: keys.publicKey,
        curveSecretKey: keys.secretKey,
        routingId,
      });
      dealer.connect(router.lastEndpoint!);
      return dealer;
    };
    await using a = dial(alice, "alice");
    // Bob claims alice's key as his routing id: the metadata still names bob's key.
    await using b = dial(bob, alice.publicKey);
    // Queued path: the receive waits before anything arrives.
    const first = router.receiveWithMetadata();
    await a.send("from alice");
    const got = await deadline(first, 5000, "alice's message");
    assert.equal(text(got.frames[0]), "alice");
    assert.equal(text(got.frames[1]), "from alice");
    assert.equal(got.metadata["User-Id"], alice.publicKey);
    assert.equal(got.metadata["Peer-Address"], "127.0.0.1");
    await b.send("from bob");
    const m = await deadline(
      router.receiveWithMetadata(["User-Id", "Socket-Type", "X-Absent"]),
      5000,
      "bob's message",
    );
    assert.equal(text(m.frames[0]), alice.publicKey, "the routing id bob claimed");
    assert.equal(m.metadata["User-Id"], bob.publicKey);
    assert.equal(m.metadata["Socket-Type"], "DEALER");
    assert.ok(!("X-Absent" in m.metadata));
    // Plain receive after the metadata one still works and carries no metadata cost.
    await a.send("again");
    const [, body] = await deadline(router.receive(), 5000, "plain receive");
    assert.equal(text(body), "again");
  } finally {
    zap.close();
  }
});

Deno.test("receiveWithMetadata: a NULL connection has no User-Id", async () => {
  await using router = new Router();
  await router.bind("tcp://127.0.0.1:*");
  await using dealer = new Dealer();
  dealer.connect(router.lastEndpoint!);
  await dealer.send(["a", "b"]);
  const { frames, metadata } = await deadline(router.receiveWithMetadata(), 5000, "message");
  assert.equal(frames.length, 3);
  assert.equal(metadata["User-Id"], undefined);
  assert.equal(metadata["Peer-Address"], "127.0.0.1");
});
