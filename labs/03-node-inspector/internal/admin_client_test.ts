import assert from "node:assert/strict";
import { HandshakeError } from "@lib/patterns/mod.ts";
import { explainHandshake, type HandshakeContext } from "./admin_client.ts";

const ep = "tcp://127.0.0.1:5531";

Deno.test("explain handshake: a mechanism mismatch is named, whichever side saw it first", () => {
  const cases: [HandshakeError, HandshakeContext, RegExp][] = [
    // This client saw the mismatch itself.
    [
      new HandshakeError(ep, "protocol", "ZMTP_MECHANISM_MISMATCH"),
      { curve: true },
      /mechanism mismatch: this client uses CURVE \(--server-key\) and the agent uses NULL: expected an agent started with --curve-secret, or no --server-key$/,
    ],
    [
      new HandshakeError(ep, "protocol", "ZMTP_MECHANISM_MISMATCH"),
      { curve: false },
      /mechanism mismatch: the agent requires CURVE and this client uses NULL: expected --server-key <the agent's public key>$/,
    ],
    // The agent hung up first (the client saw only EPIPE): the agent's greeting decides.
    [
      new HandshakeError(ep, "other", "EPIPE"),
      { curve: true, agentMechanism: "NULL" },
      /mechanism mismatch: this client uses CURVE .* the agent uses NULL/,
    ],
    [
      new HandshakeError(ep, "other", "EPIPE"),
      { curve: false, agentMechanism: "CURVE" },
      /mechanism mismatch: the agent requires CURVE/,
    ],
    [
      new HandshakeError(ep, "other", "EPIPE"),
      { curve: false, agentMechanism: "PLAIN" },
      /mechanism mismatch: the agent uses PLAIN, this client NULL: expected an agent with NULL or CURVE/,
    ],
    // Same mechanism on both sides: then it is the key.
    [
      new HandshakeError(ep, "other", "EPIPE"),
      { curve: true, agentMechanism: "CURVE" },
      /^CURVE handshake with tcp:\/\/127\.0\.0\.1:5531 failed \(other EPIPE\): expected --server-key to be the agent's public key$/,
    ],
    [
      new HandshakeError(ep, "other", "EPIPE"),
      { curve: true },
      /expected --server-key to be the agent's public key$/,
    ],
    [
      new HandshakeError(ep, "auth", "400"),
      { curve: true },
      /\(auth 400\): the agent does not allow this client's key: expected --client-secret whose public key is in its --allow-key$/,
    ],
  ];
  for (const [err, context, expected] of cases) {
    const text = explainHandshake(err, context);
    assert.match(text, expected, `${err.message} ${JSON.stringify(context)}`);
    assert.ok(text.includes(ep), text);
  }
});
