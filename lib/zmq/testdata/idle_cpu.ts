// Fixture: waits on a receive that never completes (until SIGTERM-free kill by the test).
import { Pull } from "../mod.ts";
const pull = new Pull();
await pull.bind("tcp://127.0.0.1:*");
const pending = pull.receive();
console.log("waiting");
await pending;
