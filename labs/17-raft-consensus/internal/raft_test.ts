import assert from "node:assert/strict";
import { ManualClock } from "@lib/async/mod.ts";
import { tableMarkdown, validateTable } from "@lib/patterns/fsm.ts";
import { seededRandom } from "@lib/random/mod.ts";
import { type ApplyResult, KvStateMachine } from "./kv.ts";
import type { Command, RaftMessage } from "./protocol.ts";
import { RaftNode, ROLE_TABLE } from "./raft.ts";
import { SimCluster } from "./raft_sim.ts";

const put = (key: string, value: string, seq: number, client = "c1"): Command => ({
  op: "put",
  key,
  value,
  client,
  seq,
});

function bare(id = "n1", peers = ["n2", "n3"], extra = {}) {
  const clock = new ManualClock();
  const sm = new KvStateMachine();
  const node = new RaftNode<ApplyResult>(
    { id, peers, electionMinMs: 100, electionMaxMs: 200, heartbeatMs: 20, ...extra },
    { clock, random: seededRandom(3), stateMachine: sm },
  );
  return { clock, node, sm };
}

Deno.test("the role table is valid and prints", () => {
  validateTable(ROLE_TABLE);
  const md = tableMarkdown(ROLE_TABLE);
  assert.match(md, /\[pre_vote\] pre_candidate \/ start_pre_vote/);
});

Deno.test("a cluster of one elects itself and commits at once", async () => {
  const { clock, node, sm } = bare("solo", []);
  await clock.advance(250);
  node.tick();
  assert.equal(node.role, "leader");
  const r = node.propose(put("k", "v", 1));
  assert.equal(r.ok, true);
  const ready = node.ready();
  assert.equal(node.commitIndex, 2); // no-op + put
  assert.equal(sm.get("k"), "v");
  assert.ok(
    ready.persist.some((p) => p.kind === "hard_state" && p.term === 1 && p.votedFor === "solo"),
  );
  node.read("r1");
  assert.deepEqual(node.ready().reads, [{ id: "r1", ok: true, index: 2 }]);
});

Deno.test("three nodes elect exactly one leader and replicate", () => {
  const sim = new SimCluster({ seed: 11 });
  sim.runUntil(() => sim.leader() !== undefined);
  const leader = sim.leader()!;
  for (let i = 1; i <= 20; i++) sim.propose(put(`k${i}`, `v${i}`, i));
  sim.run(500);
  for (const id of sim.ids) {
    assert.equal(sim.machines.get(id)!.get("k20"), "v20", id);
    assert.equal(sim.nodes.get(id)!.term, leader.term);
  }
  assert.deepEqual(sim.violations, []);
});

Deno.test("one vote per term, persisted before the reply leaves", () => {
  const { node } = bare("n1");
  const ask = (from: string): RaftMessage => ({
    type: "request_vote",
    from,
    to: "n1",
    term: 5,
    lastLogIndex: 0,
    lastLogTerm: 0,
  });
  node.step(ask("n2"));
  const first = node.ready();
  assert.deepEqual(first.persist, [{ kind: "hard_state", term: 5, votedFor: null }, {
    kind: "hard_state",
    term: 5,
    votedFor: "n2",
  }]);
  assert.equal(first.messages.length, 1);
  assert.equal(first.messages[0].type === "vote_reply" && first.messages[0].granted, true);
  node.step(ask("n3"));
  const second = node.ready();
  assert.equal(second.messages[0].type === "vote_reply" && second.messages[0].granted, false);
  // The same candidate asking again (a retry after a lost reply) gets the same answer.
  node.step(ask("n2"));
  const third = node.ready();
  assert.equal(third.messages[0].type === "vote_reply" && third.messages[0].granted, true);
  assert.deepEqual(third.persist, []);
});

Deno.test("the election restriction: a voter with a newer log refuses", () => {
  const { node } = bare("n1", ["n2", "n3"], { checkQuorum: false });
  node.step({
    type: "append",
    from: "n2",
    to: "n1",
    term: 2,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [{ index: 1, term: 2, command: put("a", "1", 1) }],
    leaderCommit: 0,
    readSeq: 0,
    clientEndpoint: "",
  });
  node.ready();
  for (
    const [term, lastLogIndex, lastLogTerm, granted] of [[6, 5, 1, false], [7, 1, 2, true]] as const
  ) {
    node.step({
      type: "request_vote",
      from: "n3",
      to: "n1",
      term,
      lastLogIndex,
      lastLogTerm,
    });
    const reply = node.ready().messages.find((m) => m.type === "vote_reply")!;
    assert.equal(
      reply.type === "vote_reply" && reply.granted,
      granted,
      `${lastLogIndex}/${lastLogTerm}`,
    );
  }
});

Deno.test("appends check prevLogIndex/prevLogTerm, truncate only on conflict, are idempotent", () => {
  const { node } = bare("n1");
  const append = (
    prevLogIndex: number,
    prevLogTerm: number,
    entries: [number, number][],
    leaderCommit = 0,
  ) => {
    node.step({
      type: "append",
      from: "n2",
      to: "n1",
      term: 3,
      prevLogIndex,
      prevLogTerm,
      entries: entries.map(([index, term]) => ({
        index,
        term,
        command: put("k", `${index}.${term}`, index),
      })),
      leaderCommit,
      readSeq: 0,
      clientEndpoint: "",
    });
    const reply = node.ready().messages[0];
    assert.equal(reply.type, "append_reply");
    return reply as Extract<RaftMessage, { type: "append_reply" }>;
  };
  assert.equal(append(0, 0, [[1, 1], [2, 1], [3, 2]]).success, true);
  assert.equal(append(5, 2, []).success, false); // gap
  assert.equal(append(3, 1, []).success, false); // term mismatch at 3
  // A duplicate of an old append must not truncate 3.
  const dup = append(0, 0, [[1, 1]]);
  assert.equal(dup.success, true);
  assert.equal(dup.matchIndex, 1);
  assert.equal(node.lastIndex, 3);
  // A conflicting entry at 3 replaces it and what follows.
  assert.equal(append(2, 1, [[3, 3], [4, 3]], 4).success, true);
  assert.deepEqual(node.entries().map((e) => e.term), [1, 1, 3, 3]);
  assert.equal(node.commitIndex, 4);
});

Deno.test("a leader never commits an earlier term's entry by counting replicas (Figure 8)", () => {
  const { clock, node } = bare("n1", ["n2", "n3"]);
  // n1 holds an entry of term 2 it never committed, then wins term 4.
  node.step({
    type: "append",
    from: "n2",
    to: "n1",
    term: 2,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [{ index: 1, term: 2, command: put("x", "1", 1) }],
    leaderCommit: 0,
    readSeq: 0,
    clientEndpoint: "",
  });
  node.ready();
  clock.set?.(0);
  for (let i = 0; i < 50 && node.role !== "candidate"; i++) {
    clock.advance(50);
    node.tick();
    for (const m of node.ready().messages) {
      if (m.type === "pre_vote") {
        node.step({ type: "pre_vote_reply", from: m.to, to: "n1", term: m.term, granted: true });
      }
    }
  }
  node.step({ type: "vote_reply", from: "n3", to: "n1", term: node.term, granted: true });
  assert.equal(node.role, "leader");
  node.ready();
  // n3 acknowledges index 1 (term 2) only: a majority holds it, but it is not of this term.
  node.step({
    type: "append_reply",
    from: "n3",
    to: "n1",
    term: node.term,
    success: true,
    matchIndex: 1,
    readSeq: 0,
  });
  assert.equal(node.commitIndex, 0);
  // Once the no-op of the current term (index 2) is on a majority, both commit.
  node.step({
    type: "append_reply",
    from: "n3",
    to: "n1",
    term: node.term,
    success: true,
    matchIndex: 2,
    readSeq: 0,
  });
  assert.equal(node.commitIndex, 2);
});

Deno.test("PreVote: an isolated node does not inflate its term nor disrupt on return", () => {
  const sim = new SimCluster({ ids: ["n1", "n2", "n3", "n4", "n5"], seed: 5 });
  sim.runUntil(() => sim.leader() !== undefined);
  const leader = sim.leader()!;
  const term = leader.term;
  const victim = sim.ids.find((id) => id !== leader.id)!;
  sim.isolate(victim);
  sim.run(3000);
  assert.equal(sim.nodes.get(victim)!.term, term, "pre-votes failed, the term stayed");
  sim.heal();
  sim.run(1000);
  assert.equal(sim.leader()!.id, leader.id);
  assert.equal(sim.leader()!.term, term);
  assert.deepEqual(sim.violations, []);
});

Deno.test("CheckQuorum: a partitioned leader steps down; the majority elects another", () => {
  const sim = new SimCluster({ ids: ["n1", "n2", "n3", "n4", "n5"], seed: 9 });
  sim.runUntil(() => sim.leader() !== undefined);
  const old = sim.leader()!;
  sim.isolate(old.id);
  sim.runUntil(() => old.role !== "leader", 2000);
  sim.runUntil(() => sim.leader() !== undefined && sim.leader()!.id !== old.id, 5000);
  const fresh = sim.leader()!;
  assert.ok(fresh.term > old.term);
  assert.equal(sim.propose(put("after", "1", 1)) !== undefined, true);
  sim.heal();
  sim.run(1000);
  assert.equal(old.role, "follower");
  assert.equal(old.term, fresh.term);
  // Its log says so: it follows the new leader in the new term.
  assert.ok(
    sim.events.some((e) =>
      e.node === old.id && e.event === "role_changed" && e.state === "follower" &&
      e.term === fresh.term && e.leader === fresh.id
    ),
  );
  assert.equal(sim.machines.get(old.id)!.get("after"), "1");
  assert.deepEqual(sim.violations, []);
});

Deno.test("ReadIndex: answered only after a majority confirms leadership; failed on step-down", () => {
  const sim = new SimCluster({ seed: 4 });
  sim.runUntil(() => sim.leader() !== undefined);
  sim.run(200); // the no-op commits
  const leader = sim.leader()!;
  sim.isolate(leader.id);
  leader.read("r1");
  sim.flush(leader.id);
  sim.run(100);
  assert.equal(sim.readsDone.length, 0, "no majority: no answer");
  sim.runUntil(() => sim.readsDone.length > 0, 2000);
  assert.equal(sim.readsDone[0].ok, false, "stepped down: the read fails, the client retries");
  sim.heal();
  sim.runUntil(() => sim.leader() !== undefined, 3000);
  const now = sim.leader()!;
  now.read("r2");
  sim.flush(now.id);
  sim.runUntil(() => sim.readsDone.length > 1, 2000);
  assert.equal(sim.readsDone[1].ok, true);
});

Deno.test("a follower behind the snapshot catches up by InstallSnapshot; restart from disk", () => {
  const sim = new SimCluster({ seed: 8, config: { snapshotEvery: 10 } });
  sim.runUntil(() => sim.leader() !== undefined);
  const leader = sim.leader()!;
  const lagging = sim.ids.find((id) => id !== leader.id)!;
  sim.crash(lagging);
  for (let i = 1; i <= 45; i++) {
    sim.propose(put(`k${i}`, `v${i}`, i));
    sim.run(5);
  }
  sim.run(300);
  assert.ok(sim.disks.get(leader.id)!.snapshot!.index >= 40, "the leader compacted its log");
  assert.ok(sim.disks.get(leader.id)!.entries.length < 10);
  sim.start(lagging);
  sim.runUntil(() => sim.machines.get(lagging)!.get("k45") === "v45", 3000);
  assert.ok(sim.events.some((e) => e.node === lagging && e.event === "snapshot_installed"));
  // Full restart: every node rebuilds from snapshot + log.
  for (const id of sim.ids) sim.crash(id);
  for (const id of sim.ids) sim.start(id);
  sim.runUntil(() => sim.leader() !== undefined, 3000);
  sim.run(300);
  for (const id of sim.ids) assert.equal(sim.machines.get(id)!.get("k45"), "v45", id);
  assert.deepEqual(sim.violations, []);
});

Deno.test("a retried write applies once (the dedup table answers the retry)", () => {
  const sim = new SimCluster({ seed: 2 });
  sim.runUntil(() => sim.leader() !== undefined);
  sim.propose(put("x", "1", 1));
  sim.propose(put("x", "1", 1)); // the same request id, retried
  sim.propose(put("x", "2", 2));
  sim.run(300);
  const leader = sim.leader()!;
  const applied = sim.appliedBy.get(leader.id)!.filter((a) => a.command.op === "put");
  assert.deepEqual(applied.map((a) => a.result.duplicate), [false, true, false]);
  assert.equal(sim.machines.get(leader.id)!.get("x"), "2");
});

for (const seed of [1, 2, 3, 4, 5, 6]) {
  Deno.test(`randomised faults keep every safety invariant (seed ${seed})`, () => {
    const sim = new SimCluster({
      ids: ["n1", "n2", "n3", "n4", "n5"],
      seed,
      loss: 0.2,
      duplicate: 0.05,
      latency: [1, 20],
      config: { snapshotEvery: 25 },
    });
    const random = seededRandom(seed * 101);
    let seq = 0;
    for (let round = 0; round < 40; round++) {
      const roll = random();
      const id = sim.ids[Math.floor(random() * sim.ids.length)];
      if (roll < 0.15) sim.crash(id);
      else if (roll < 0.3 && !sim.nodes.has(id)) sim.start(id);
      else if (roll < 0.4) sim.isolate(id);
      else if (roll < 0.5) sim.heal();
      for (let i = 0; i < 5; i++) {
        seq++;
        sim.propose(put(`k${seq % 7}`, `v${seq}`, seq, `c${seed}`));
        sim.run(20);
      }
    }
    // Heal everything: the cluster must make progress again and converge.
    sim.heal();
    sim.loss = 0;
    for (const id of sim.ids) if (!sim.nodes.has(id)) sim.start(id);
    sim.runUntil(() => sim.leader() !== undefined, 5000);
    const index = sim.propose(put("final", "yes", ++seq, `c${seed}`));
    sim.runUntil(
      () =>
        index !== undefined && sim.ids.every((id) => sim.machines.get(id)!.get("final") === "yes"),
      5000,
    );
    const prints = new Set(sim.ids.map((id) => sim.machines.get(id)!.fingerprint()));
    assert.equal(prints.size, 1, "all replicas equal");
    assert.deepEqual(sim.violations, []);
    assert.ok(sim.leaders.size >= 2, `elections happened: ${sim.leaders.size}`);
    assert.ok(sim.appliedAt.size >= 20, `progress under faults: ${sim.appliedAt.size} entries`);
  });
}
