// Fixture: floods a PULL endpoint with 16-byte messages until killed.
import { Push } from "../mod.ts";
const push = new Push({ sendHighWaterMark: 10_000, linger: 0 });
push.connect(Deno.args[0]);
const frame = new Uint8Array(16);
for (;;) await push.send(frame);
