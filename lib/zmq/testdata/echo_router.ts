// Fixture: a ROUTER that echoes every message; prints its endpoint, runs until killed.
import { Router } from "../mod.ts";
const router = new Router({ receiveHighWaterMark: 0, sendHighWaterMark: 0, linger: 0 });
await router.bind("tcp://127.0.0.1:*");
console.log(router.lastEndpoint);
for await (const message of router) await router.send(message);
