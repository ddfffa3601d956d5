// Fixture: waits on a socket, then closes it; the process must exit by itself.
import { Pull, Push } from "../mod.ts";
const pull = new Pull();
await pull.bind("tcp://127.0.0.1:*");
const push = new Push();
push.connect(pull.lastEndpoint!);
const pending = pull.receive();
await push.send("one");
await pending;
const waiting = pull.receive().catch(() => "closed"); // a receive that never completes...
pull.close(); // ...until the socket closes
push.close();
console.log(await waiting);
