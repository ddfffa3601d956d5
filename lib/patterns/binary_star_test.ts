import assert from "node:assert/strict";
import { ManualClock } from "../async/clock.ts";
import { BadMessageError } from "../codec/schema.ts";
import { createMemoryLogger } from "../role/logger.ts";
import {
  BINARY_STAR_TABLE,
  BinaryStar,
  type BinaryStarAction,
  type BinaryStarEvent,
  type BinaryStarState,
  decodeBeacon,
  encodeBeacon,
  PEER_EXPIRED,
} from "./binary_star.ts";
import { step, tableMarkdown, validateTable } from "./fsm.ts";

type Expect = { next: BinaryStarState; action?: BinaryStarAction };

/**
 * Every cell, written out independently of the table from the Guide's `s_execute_fsm`
 * (bstar.c): [state, event, outcome with the peer alive, outcome with the peer expired].
 */
const CELLS: [BinaryStarState, BinaryStarEvent, Expect, Expect][] = [
  ["PRIMARY", "PEER_PRIMARY", { next: "PRIMARY" }, { next: "PRIMARY" }],
  ["PRIMARY", "PEER_BACKUP", { next: "ACTIVE" }, { next: "ACTIVE" }],
  ["PRIMARY", "PEER_ACTIVE", { next: "PASSIVE" }, { next: "PASSIVE" }],
  ["PRIMARY", "PEER_PASSIVE", { next: "PRIMARY" }, { next: "PRIMARY" }],
  ["PRIMARY", "CLIENT_REQUEST", { next: "PRIMARY", action: "reject" }, {
    next: "ACTIVE",
    action: "serve",
  }],
  ["BACKUP", "PEER_PRIMARY", { next: "BACKUP" }, { next: "BACKUP" }],
  ["BACKUP", "PEER_BACKUP", { next: "BACKUP" }, { next: "BACKUP" }],
  ["BACKUP", "PEER_ACTIVE", { next: "PASSIVE" }, { next: "PASSIVE" }],
  ["BACKUP", "PEER_PASSIVE", { next: "BACKUP" }, { next: "BACKUP" }],
  ["BACKUP", "CLIENT_REQUEST", { next: "BACKUP", action: "reject" }, {
    next: "BACKUP",
    action: "reject",
  }],
  ["ACTIVE", "PEER_PRIMARY", { next: "ACTIVE" }, { next: "ACTIVE" }],
  ["ACTIVE", "PEER_BACKUP", { next: "ACTIVE" }, { next: "ACTIVE" }],
  ["ACTIVE", "PEER_ACTIVE", { next: "ACTIVE", action: "fatal_dual_active" }, {
    next: "ACTIVE",
    action: "fatal_dual_active",
  }],
  ["ACTIVE", "PEER_PASSIVE", { next: "ACTIVE" }, { next: "ACTIVE" }],
  ["ACTIVE", "CLIENT_REQUEST", { next: "ACTIVE", action: "serve" }, {
    next: "ACTIVE",
    action: "serve",
  }],
  ["PASSIVE", "PEER_PRIMARY", { next: "ACTIVE" }, { next: "ACTIVE" }],
  ["PASSIVE", "PEER_BACKUP", { next: "ACTIVE" }, { next: "ACTIVE" }],
  ["PASSIVE", "PEER_ACTIVE", { next: "PASSIVE" }, { next: "PASSIVE" }],
  ["PASSIVE", "PEER_PASSIVE", { next: "PASSIVE", action: "fatal_dual_passive" }, {
    next: "PASSIVE",
    action: "fatal_dual_passive",
  }],
  ["PASSIVE", "CLIENT_REQUEST", { next: "PASSIVE", action: "reject" }, {
    next: "ACTIVE",
    action: "serve",
  }],
];

Deno.test("binary star table: valid, and every state x event cell is covered above", () => {
  validateTable(BINARY_STAR_TABLE);
  const covered = new Set(CELLS.map(([s, e]) => `${s}/${e}`));
  for (const s of BINARY_STAR_TABLE.states) {
    for (const e of BINARY_STAR_TABLE.events) {
      assert.ok(covered.has(`${s}/${e}`), `cell ${s} x ${e} not tested`);
      assert.ok(BINARY_STAR_TABLE.cells[s]?.[e], `cell ${s} x ${e} missing in the table`);
    }
  }
  assert.equal(CELLS.length, 4 * 5);
});

for (const [state, event, alive, expired] of CELLS) {
  Deno.test(`binary star cell ${state} x ${event}`, () => {
    for (const [peerExpired, want] of [[false, alive], [true, expired]] as const) {
      const got = step(BINARY_STAR_TABLE, state, event, { [PEER_EXPIRED]: () => peerExpired });
      assert.ok(got.ok, `${state} x ${event}: ${!got.ok && got.reason}`);
      assert.deepEqual(
        { next: got.next, action: got.action },
        { next: want.next, action: want.action },
        `${state} x ${event} with the peer ${peerExpired ? "expired" : "alive"}`,
      );
    }
  });
}

Deno.test("binary star table prints with the guard named", () => {
  const md = tableMarkdown(BINARY_STAR_TABLE);
  assert.match(md, /\[peer_expired\] ACTIVE \/ serve; else PASSIVE \/ reject/);
  assert.match(md, /ACTIVE \/ fatal_dual_active/);
});

Deno.test("beacons: one ASCII digit per state, as the Guide's bstarsrv sends them", () => {
  const text = (s: BinaryStarState) => new TextDecoder().decode(encodeBeacon(s)[0]);
  assert.deepEqual(
    (["PRIMARY", "BACKUP", "ACTIVE", "PASSIVE"] as const).map(text),
    ["1", "2", "3", "4"],
  );
  const enc = (s: string) => [new TextEncoder().encode(s)];
  assert.equal(decodeBeacon(enc("1")), "PEER_PRIMARY");
  assert.equal(decodeBeacon(enc("4")), "PEER_PASSIVE");
  for (
    const bad of [enc("5"), enc("0"), enc("13"), enc(""), enc("x"), [...enc("3"), ...enc("3")]]
  ) {
    assert.throws(() => decodeBeacon(bad), BadMessageError);
  }
});

function pair(role: "primary" | "backup", heartbeatMs = 1000) {
  const clock = new ManualClock();
  const log = createMemoryLogger();
  const sent: string[] = [];
  const star = new BinaryStar({
    clock,
    log,
    role,
    heartbeatMs,
    send: (frames) => void sent.push(new TextDecoder().decode(frames[0])),
  });
  const hear = (s: BinaryStarState) => star.onMessage(encodeBeacon(s));
  return { clock, log, sent, star, hear };
}

Deno.test("BinaryStar: primary meets backup -> ACTIVE; beacons every heartbeat carry the state", () => {
  const { clock, sent, star, hear, log } = pair("primary");
  star.tick(clock.now());
  assert.deepEqual(sent, ["1"]);
  star.tick(clock.now() + 999);
  assert.deepEqual(sent, ["1"], "not before a heartbeat has passed");
  hear("BACKUP");
  assert.equal(star.state, "ACTIVE");
  clock.set(1000);
  star.tick(clock.now());
  assert.deepEqual(sent, ["1", "3"]);
  assert.equal(star.clientRequest(), true);
  assert.equal(log.events("state_changed")[0].fields.to, "ACTIVE");
  assert.equal(star.stats().requestsServed, 1);
});

Deno.test("BinaryStar: the passive takes over only when the peer is silent AND a client asks", () => {
  const { clock, star, hear, log } = pair("backup");
  hear("ACTIVE");
  assert.equal(star.state, "PASSIVE");
  // Peer alive: a client request is dropped.
  clock.set(1999);
  assert.equal(star.clientRequest(), false);
  assert.equal(star.state, "PASSIVE");
  // Peer silent for 2 heartbeats, but no client: still passive, however long it lasts.
  clock.set(60_000);
  star.tick(clock.now());
  assert.equal(star.state, "PASSIVE");
  assert.equal(log.events("peer_silent").length, 1);
  star.tick(clock.now() + 1000);
  assert.equal(log.events("peer_silent").length, 1, "logged once per silence");
  // Silent and a client asks: failover.
  assert.equal(star.clientRequest(), true);
  assert.equal(star.state, "ACTIVE");
  assert.equal(star.stats().takeovers, 1);
  assert.equal(star.stats().requestsRejected, 1);
});

Deno.test("BinaryStar: expiry is exactly 2 heartbeats after the last beacon", () => {
  const { clock, star, hear } = pair("backup", 100);
  hear("ACTIVE");
  clock.set(500);
  hear("ACTIVE"); // refreshed at 500
  clock.set(699);
  assert.equal(star.peerExpired(), false);
  assert.equal(star.clientRequest(), false);
  clock.set(700);
  assert.equal(star.peerExpired(), true);
  assert.equal(star.clientRequest(), true);
});

Deno.test("BinaryStar: a restarted primary hears the active backup and stays passive (no fail-back)", () => {
  const { clock, star, hear } = pair("primary");
  // Within its first 2 heartbeats a restarted primary refuses clients: the backup may be active.
  assert.equal(star.clientRequest(), false);
  hear("ACTIVE");
  assert.equal(star.state, "PASSIVE");
  clock.set(1500);
  hear("ACTIVE");
  assert.equal(star.clientRequest(), false);
  assert.equal(star.state, "PASSIVE");
});

Deno.test("BinaryStar: a primary alone takes clients once 2 heartbeats passed", () => {
  const { clock, star } = pair("primary");
  clock.set(2000);
  assert.equal(star.clientRequest(), true);
  assert.equal(star.state, "ACTIVE");
});

Deno.test("BinaryStar: dual active is fatal, logged, and stops the machine", () => {
  const { clock, star, hear, sent, log } = pair("backup");
  hear("ACTIVE");
  clock.set(5000);
  assert.equal(star.clientRequest(), true); // took over during a partition
  hear("ACTIVE"); // the link healed: the old active is still active
  assert.match(star.fatal ?? "", /^dual active/);
  assert.equal(log.events("dual_active").length, 1);
  assert.equal(star.clientRequest(), false, "a broken pair serves nobody");
  const before = sent.length;
  star.tick(clock.now() + 10_000);
  assert.equal(sent.length, before, "no more beacons");
});

Deno.test("BinaryStar: dual passive is fatal", () => {
  const { star, hear, log } = pair("backup");
  hear("ACTIVE");
  hear("PASSIVE");
  assert.match(star.fatal ?? "", /^dual passive/);
  assert.equal(log.events("dual_passive").length, 1);
});

Deno.test("BinaryStar: a bad beacon throws BadMessageError, is counted and is no heartbeat", () => {
  const { clock, star, hear } = pair("backup", 100);
  hear("ACTIVE");
  clock.set(150);
  assert.throws(() => star.onMessage([new TextEncoder().encode("9")]), BadMessageError);
  clock.set(200);
  assert.equal(star.peerExpired(), true, "garbage did not refresh the peer");
  assert.equal(star.stats().badBeacons, 1);
  assert.equal(star.state, "PASSIVE");
});

Deno.test("BinaryStar: a refused send is counted, not thrown", () => {
  const clock = new ManualClock();
  const star = new BinaryStar({
    clock,
    log: createMemoryLogger(),
    role: "primary",
    send: () => {
      throw new Error("EAGAIN");
    },
  });
  star.tick(clock.now());
  assert.equal(star.stats().beaconsDropped, 1);
  assert.equal(star.stats().beaconsSent, 0);
});

Deno.test("BinaryStar: options are checked", () => {
  const base = { clock: new ManualClock(), log: createMemoryLogger(), send: () => {} };
  assert.throws(() => new BinaryStar({ ...base, role: "primary", heartbeatMs: 0 }), RangeError);
  assert.throws(
    () => new BinaryStar({ ...base, role: "leader" as "primary" }),
    /expected "primary" or "backup", got leader/,
  );
});
