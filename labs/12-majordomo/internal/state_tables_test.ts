import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { encodeWorker, MdpWorker, tableMarkdown, validateTable } from "@lib/patterns/mod.ts";
import { createMemoryLogger } from "@lib/role/mod.ts";
import { BROKER_WORKER_TABLE, WORKER_CONN_TABLE } from "./state_tables.ts";

Deno.test("WORKER_CONN_TABLE: MdpWorker does what every cell says", () => {
  validateTable(WORKER_CONN_TABLE);
  const enc = new TextEncoder();
  for (const state of WORKER_CONN_TABLE.states) {
    for (const event of WORKER_CONN_TABLE.events) {
      const cell = WORKER_CONN_TABLE.cells[state]?.[event];
      if (!cell || Array.isArray(cell)) continue;
      const outcome = cell as { next: string; action?: string };
      const clock = new ManualClock();
      const sent: number[] = [];
      let connects = 0;
      let disconnects = 0;
      const worker = new MdpWorker({
        clock,
        log: createMemoryLogger(),
        send: (frames) => void sent.push(frames[2][0]),
        connect: () => void connects++,
        disconnect: () => void disconnects++,
      }, { service: "s", heartbeatIntervalMs: 1000, liveness: 3 });
      if (state !== "idle") worker.start();
      if (state === "waiting") worker.receive(encodeWorker({ command: "DISCONNECT" }));
      assert.equal(worker.state, state);
      sent.length = 0;
      const [c0, d0] = [connects, disconnects];
      let handed = false;
      switch (event) {
        case "start":
          worker.start();
          break;
        case "REQUEST":
          handed = worker.receive(
            encodeWorker({ command: "REQUEST", client: enc.encode("c"), body: [enc.encode("x")] }),
          ) !== null;
          break;
        case "HEARTBEAT":
          worker.receive(encodeWorker({ command: "HEARTBEAT" }));
          break;
        case "DISCONNECT":
          worker.receive(encodeWorker({ command: "DISCONNECT" }));
          break;
        case "silence":
          for (let now = 250; now <= 3000; now += 250) {
            clock.set(now);
            worker.tick(now);
          }
          break;
        case "retry_due":
          clock.set(60_000);
          worker.tick(60_000);
          break;
        case "restart":
          worker.restart("test");
          break;
        case "stop":
          worker.disconnect();
          break;
      }
      const where = `${state} × ${event}`;
      assert.equal(worker.state, outcome.next, where);
      const did = {
        connect_send_ready: connects > c0 && sent.includes(1),
        hand_to_app: handed,
        refresh: sent.length === 0,
        drop_socket_backoff: disconnects > d0 && connects === c0,
        send_disconnect_reconnect: sent[0] === 5 && disconnects > d0 && sent[1] === 1,
        send_disconnect: sent.length === 1 && sent[0] === 5,
      };
      if (outcome.action) assert.ok(did[outcome.action as keyof typeof did], where);
      else assert.equal(sent.filter((c) => c !== 4).length, 0, where);
    }
  }
});

Deno.test("SUMMARY.md prints both tables as the code has them", async () => {
  const summary = await Deno.readTextFile(new URL("../SUMMARY.md", import.meta.url));
  // deno fmt pads the cells: compare with the padding squeezed out.
  const squeeze = (line: string) => line.replace(/\s*\|\s*/g, "|").trim();
  const lines = new Set(summary.split("\n").map(squeeze));
  for (const table of [BROKER_WORKER_TABLE, WORKER_CONN_TABLE]) {
    for (const row of tableMarkdown(table).split("\n")) {
      if (/^\|[\s|-]+\|$/.test(row)) continue; // the separator row
      assert.ok(lines.has(squeeze(row)), `SUMMARY.md lacks the row ${row}`);
    }
  }
});
