import assert from "node:assert/strict";
import { Fsm, type FsmTable, step, tableMarkdown, validateTable } from "./fsm.ts";

type S = "primary" | "backup" | "active" | "passive";
type E = "peer_backup" | "peer_active" | "client_request";
const table: FsmTable<S, E, string> = {
  states: ["primary", "backup", "active", "passive"],
  events: ["peer_backup", "peer_active", "client_request"],
  initial: "primary",
  cells: {
    primary: { peer_backup: { next: "active", action: "log_connected" } },
    backup: { peer_active: { next: "passive" } },
    active: { client_request: { next: "active", action: "serve" } },
    passive: {
      client_request: [
        { when: "peer_expired", next: "active", action: "failover" },
        { next: "passive", action: "reject" },
      ],
    },
  },
};

Deno.test("every cell of the table, including guarded ones", () => {
  assert.deepEqual(step(table, "primary", "peer_backup"), {
    ok: true,
    from: "primary",
    next: "active",
    action: "log_connected",
  });
  assert.deepEqual(step(table, "backup", "peer_active"), {
    ok: true,
    from: "backup",
    next: "passive",
  });
  assert.deepEqual(step(table, "passive", "client_request", { peer_expired: () => true }), {
    ok: true,
    from: "passive",
    next: "active",
    action: "failover",
  });
  assert.deepEqual(step(table, "passive", "client_request", { peer_expired: () => false }), {
    ok: true,
    from: "passive",
    next: "passive",
    action: "reject",
  });
  assert.deepEqual(step(table, "active", "peer_backup"), {
    ok: false,
    from: "active",
    reason: "event peer_backup not allowed in active",
  });
});

Deno.test("Fsm moves only on allowed events", () => {
  let expired = false;
  const fsm = new Fsm(table, { peer_expired: () => expired });
  assert.equal(fsm.state, "primary");
  assert.equal(fsm.fire("client_request").ok, false);
  assert.equal(fsm.state, "primary");
  fsm.fire("peer_backup");
  assert.equal(fsm.state, "active");
  const passive = new Fsm({ ...table, initial: "passive" }, { peer_expired: () => expired });
  assert.equal(passive.fire("client_request").ok && passive.state, "passive");
  expired = true;
  assert.equal(passive.fire("client_request").ok && passive.state, "active");
});

Deno.test("validateTable names the first problem", () => {
  assert.throws(
    () => validateTable({ ...table, initial: "nowhere" as S }),
    /expected the initial state to be listed, got nowhere/,
  );
  assert.throws(
    () =>
      validateTable({
        ...table,
        cells: { primary: { peer_backup: { next: "gone" as S } } },
      }),
    /expected a listed next state in primary×peer_backup, got gone/,
  );
  assert.throws(
    () =>
      validateTable({
        ...table,
        cells: {
          passive: {
            client_request: [{ next: "active" }, { when: "x", next: "passive" }],
          },
        },
      }),
    /only the last outcome/,
  );
});

Deno.test("tableMarkdown prints states × events", () => {
  const md = tableMarkdown(table).split("\n");
  assert.equal(md[0], "| state \\ event | peer_backup | peer_active | client_request |");
  assert.equal(md[2], "| **primary** | active / log_connected | — | — |");
  assert.equal(
    md[5],
    "| passive | — | — | [peer_expired] active / failover; else passive / reject |",
  );
});
