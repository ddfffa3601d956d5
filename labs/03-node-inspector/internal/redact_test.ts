import assert from "node:assert/strict";
import { redactSecrets } from "./redact.ts";

Deno.test("redact: values of secret-looking flags are hidden, everything else is kept", () => {
  assert.equal(
    redactSecrets("deno run cmd/node_agent.ts --curve-secret Ab}1x.y --bind tcp://127.0.0.1:5531"),
    "deno run cmd/node_agent.ts --curve-secret *** --bind tcp://127.0.0.1:5531",
  );
  assert.equal(redactSecrets("app --db-password=hunter2 -v"), "app --db-password=*** -v");
  assert.equal(redactSecrets("app --API_TOKEN xyz"), "app --API_TOKEN ***");
  assert.equal(redactSecrets("ssh-agent -k"), "ssh-agent -k", "a flag without a value stays");
  assert.equal(redactSecrets("app --key --verbose"), "app --key --verbose");
  assert.equal(redactSecrets("/usr/bin/keychain --list"), "/usr/bin/keychain --list");
  // Z85 has '-' in its alphabet: a key may start with it and must still be hidden.
  const dashKey = "-rU8Q}#9L0q(xv@3&uJ.kT2b!Wz*1mN+eY^4sA5d";
  assert.equal(dashKey.length, 40);
  assert.equal(redactSecrets(`agent --curve-secret ${dashKey} -v`), "agent --curve-secret *** -v");
  const flagLikeKey = "--abcdefghijklmnopqrstuvwxyz0123456789ab";
  assert.equal(redactSecrets(`agent --curve-secret ${flagLikeKey}`), "agent --curve-secret ***");
  assert.equal(redactSecrets("app --token -x"), "app --token -x", "a short flag stays");
});
