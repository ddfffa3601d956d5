import assert from "node:assert/strict";
import { curveKeyPair, Dealer, Request, Router } from "./mod.ts";
import { deadline, nextMatching } from "./test_util.ts";

/** Reads `events` until `match`, or throws when the observer ends first. */
/** An endpoint nobody listens on (a port bound once, then closed at once). */
function closedEndpoint(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `tcp://127.0.0.1:${port}`;
}

Deno.test("socket.events is one observer; two consumers each get every event, ending one spares the other", async () => {
  const endpoint = closedEndpoint();
  await using req = new Request({ reconnectInterval: 20, reconnectMaxInterval: 20 });
  assert.equal(req.events, req.events, "repeated access returns the same observer");
  using first = req.events.consumer();
  using second = req.events.consumer();
  req.connect(endpoint);
  const a = await deadline(
    nextMatching(first, (e) => e.type === "connect:retry"),
    20_000,
    "connect:retry (first consumer)",
  );
  const b = await deadline(
    nextMatching(second, (e) => e.type === "connect:retry"),
    10_000,
    "connect:retry (second consumer)",
  );
  assert.ok(a.type === "connect:retry" && b.type === "connect:retry");
  assert.equal(a.address, endpoint);
  assert.equal(typeof a.interval, "number");
  first.close();
  // A second consumer that closes ends neither the observer nor the others.
  const third = req.events.consumer();
  third.close();
  // A plain for-await loop is a consumer of its own; leaving it ends only that loop.
  for await (const event of req.events) if (event.type === "connect:retry") break;
  await deadline(
    nextMatching(second, (e) => e.type === "connect:retry"),
    10_000,
    "further connect:retry on the second consumer",
  );
});

Deno.test("events report a failed handshake with the protocol error", async () => {
  await using router = new Router();
  using serverEvents = router.events.consumer();
  await router.bind("tcp://127.0.0.1:*");
  const server = curveKeyPair();
  const client = curveKeyPair();
  // A CURVE client against a NULL server: the mechanisms do not match.
  await using dealer = new Dealer({
    curveServerKey: server.publicKey,
    curvePublicKey: client.publicKey,
    curveSecretKey: client.secretKey,
  });
  using clientEvents = dealer.events.consumer();
  dealer.connect(router.lastEndpoint!);
  const failed = await deadline(
    nextMatching(serverEvents, (e) => e.type.startsWith("handshake:error")),
    10_000,
    "handshake failure on the server",
  );
  assert.equal(failed.type, "handshake:error:protocol");
  if (failed.type === "handshake:error:protocol") {
    assert.equal(failed.error.code, "ZMTP_MECHANISM_MISMATCH");
  }
  const clientFailed = await deadline(
    nextMatching(clientEvents, (e) => e.type.startsWith("handshake:error")),
    10_000,
    "handshake failure on the client",
  );
  assert.equal(clientFailed.type, "handshake:error:protocol");
});

Deno.test("events report connect, accept, handshake and disconnect; close ends them with end", async () => {
  await using router = new Router();
  using serverEvents = router.events.consumer();
  await router.bind("tcp://127.0.0.1:*");
  const dealer = new Dealer();
  const clientEvents = dealer.events.consumer();
  dealer.connect(router.lastEndpoint!);
  await deadline(nextMatching(clientEvents, (e) => e.type === "connect"), 5000, "connect");
  await deadline(nextMatching(serverEvents, (e) => e.type === "accept"), 5000, "accept");
  await deadline(nextMatching(serverEvents, (e) => e.type === "handshake"), 5000, "handshake");
  const clientTypes: string[] = [];
  const clientLoop = (async () => {
    for await (const event of clientEvents) clientTypes.push(event.type);
  })();
  dealer.close();
  await deadline(clientLoop, 5000, "the client's events to end with the socket");
  assert.equal(clientTypes.at(-1), "end");
  const gone = await deadline(
    nextMatching(serverEvents, (e) => e.type === "disconnect"),
    5000,
    "disconnect",
  );
  assert.ok(gone.type === "disconnect");
  assert.match(gone.address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
});
