/**
 * The Raft core, sans-IO: messages, client proposals, reads and clock ticks in; messages,
 * persistence actions, applied commands, finished reads and events out (the "Ready"
 * batch, as in etcd/raft). The driver must make `persist` durable (fsync) before it sends
 * any message or answers any client from the same batch: a vote, an append_reply or a
 * client answer never goes out before the state it depends on is on disk.
 *
 * What is here (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm",
 * and Ongaro's thesis §§ 3, 5, 6, 9.6):
 * - leader election with randomised timeouts, terms, one vote per term (votedFor
 *   persisted), the election restriction (§5.4.1);
 * - log replication with the prevLogIndex/prevLogTerm check, conflict truncation only
 *   when a term differs (duplicated or reordered appends are harmless);
 * - commit by majority and only of current-term entries (§5.4.2); a no-op at term start;
 * - PreVote (§9.6) and CheckQuorum (a leader that has not heard from a majority for an
 *   election timeout steps down; a follower that heard from a leader within the minimum
 *   election timeout refuses to (pre-)vote);
 * - ReadIndex (§6.4): a read is answered after a heartbeat round of the current term
 *   confirms leadership, at an index at least the commit index when it arrived;
 * - log compaction by snapshot (§5) and InstallSnapshot for followers that fell behind it.
 *
 * Loss tolerance (the PUB-SUB bus drops messages to slow joiners and past the HWM): every
 * RPC is retried by the sender (the leader resends everything from matchIndex+1 at each
 * heartbeat; candidates resend votes to peers that did not answer) and every handler is
 * idempotent (a vote granted twice to the same candidate in the same term, an entry
 * appended twice, an old append_reply: all change nothing).
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import { Fsm, type FsmTable } from "@lib/patterns/fsm.ts";
import type { Random } from "@lib/random/mod.ts";
import type { Command, Entry, RaftMessage } from "./protocol.ts";

/** The role of a node. */
export type Role = "follower" | "pre_candidate" | "candidate" | "leader";
/** What moves a node between roles. */
export type RoleEvent =
  | "election_timeout"
  | "pre_vote_quorum"
  | "vote_quorum"
  | "higher_term"
  | "leader_seen"
  | "quorum_lost";
/** What a role change does. */
export type RoleAction =
  | "start_pre_vote"
  | "start_election"
  | "become_leader"
  | "follow"
  | "step_down";

/**
 * The role table. Guard `pre_vote`: PreVote is on. A missing cell: the event cannot
 * happen in that role (a leader has no election timer; only a candidate counts votes).
 */
export const ROLE_TABLE: FsmTable<Role, RoleEvent, RoleAction> = {
  states: ["follower", "pre_candidate", "candidate", "leader"],
  events: [
    "election_timeout",
    "pre_vote_quorum",
    "vote_quorum",
    "higher_term",
    "leader_seen",
    "quorum_lost",
  ],
  initial: "follower",
  cells: {
    follower: {
      election_timeout: [
        { when: "pre_vote", next: "pre_candidate", action: "start_pre_vote" },
        { next: "candidate", action: "start_election" },
      ],
      higher_term: { next: "follower", action: "follow" },
      leader_seen: { next: "follower", action: "follow" },
    },
    pre_candidate: {
      election_timeout: { next: "pre_candidate", action: "start_pre_vote" },
      pre_vote_quorum: { next: "candidate", action: "start_election" },
      higher_term: { next: "follower", action: "follow" },
      leader_seen: { next: "follower", action: "follow" },
    },
    candidate: {
      election_timeout: [
        { when: "pre_vote", next: "pre_candidate", action: "start_pre_vote" },
        { next: "candidate", action: "start_election" },
      ],
      vote_quorum: { next: "leader", action: "become_leader" },
      higher_term: { next: "follower", action: "follow" },
      leader_seen: { next: "follower", action: "follow" },
    },
    leader: {
      higher_term: { next: "follower", action: "step_down" },
      quorum_lost: { next: "follower", action: "step_down" },
    },
  },
};

/** The state machine Raft replicates. */
export interface StateMachine<R> {
  apply(command: Command): R;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

/** A durable change; the driver applies them in order, then fsyncs, before anything else. */
export type PersistOp =
  | { kind: "hard_state"; term: number; votedFor: string | null }
  | { kind: "append"; entries: Entry[] }
  | { kind: "truncate"; from: number }
  | { kind: "snapshot"; index: number; term: number; data: Uint8Array };

/** Something worth a log line. */
export type RaftEvent =
  | { event: "became_leader"; term: number }
  | { event: "role_changed"; state: Role; term: number; leader: string | null }
  | { event: "stepped_down"; term: number; reason: string }
  | { event: "election_started"; term: number; preVote: boolean }
  | { event: "vote_granted"; term: number; candidate: string }
  | { event: "log_truncated"; from: number }
  | { event: "snapshot_taken"; index: number; term: number }
  | { event: "snapshot_installed"; index: number; term: number };

/** A committed command applied to the state machine. */
export interface Applied<R> {
  index: number;
  term: number;
  command: Command;
  result: R;
}

/** A finished ReadIndex request. */
export type ReadDone =
  | { id: string; ok: true; index: number }
  | { id: string; ok: false; leader: string | null };

/** One batch of output. */
export interface Ready<R> {
  persist: PersistOp[];
  messages: RaftMessage[];
  applied: Applied<R>[];
  reads: ReadDone[];
  events: RaftEvent[];
}

/** What was persisted, to start from after a restart. */
export interface PersistedState {
  term: number;
  votedFor: string | null;
  snapshot: { index: number; term: number; data: Uint8Array } | null;
  entries: Entry[];
}

/** Configuration of one node. */
export interface RaftConfig {
  id: string;
  /** The other members' ids. */
  peers: string[];
  electionMinMs: number;
  electionMaxMs: number;
  heartbeatMs: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  /** Take a snapshot after this many applied entries since the last one (0: never). */
  snapshotEvery?: number;
  /** Most entries per append (default 256). */
  maxBatch?: number;
  /** Most ReadIndex requests waiting (default 10000). */
  maxPendingReads?: number;
  /** This node's client endpoint, sent in appends so followers can redirect. */
  clientEndpoint?: string;
}

/** Per-peer replication progress (leader) and liveness. */
export interface PeerStatus {
  id: string;
  matchIndex: number;
  nextIndex: number;
  /** ms since a message from this peer arrived (null: never). */
  lastHeardMs: number | null;
}

/** A snapshot of the node's state for views and tests. */
export interface RaftStatus {
  id: string;
  role: Role;
  term: number;
  votedFor: string | null;
  leader: string | null;
  leaderEndpoint: string | null;
  commitIndex: number;
  lastApplied: number;
  lastIndex: number;
  snapshotIndex: number;
  peers: PeerStatus[];
}

interface PendingRead {
  id: string;
  index: number;
  seq: number;
}

/**
 * One Raft node. Drive it with {@link RaftNode.step}, {@link RaftNode.tick},
 * {@link RaftNode.propose} and {@link RaftNode.read}; after each (or several), take
 * {@link RaftNode.ready} and carry it out in order: persist + fsync, then send, then answer.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { seededRandom } from "@lib/random/mod.ts";
 * import { KvStateMachine } from "./kv.ts";
 * import { RaftNode } from "./raft.ts";
 * const clock = new ManualClock();
 * const node = new RaftNode(
 *   { id: "n1", peers: [], electionMinMs: 100, electionMaxMs: 200, heartbeatMs: 20 },
 *   { clock, random: seededRandom(1), stateMachine: new KvStateMachine() },
 * );
 * await clock.advance(250);
 * node.tick();
 * node.status().role; // "leader" (a cluster of one)
 * ```
 */
export class RaftNode<R> {
  readonly id: string;
  readonly #peers: string[];
  readonly #cfg: Required<Omit<RaftConfig, "id" | "peers">>;
  readonly #clock: Pick<Clock, "now">;
  readonly #random: Random;
  readonly #sm: StateMachine<R>;
  readonly #fsm: Fsm<Role, RoleEvent, RoleAction>;

  #term = 0;
  #votedFor: string | null = null;
  #leader: string | null = null;
  #leaderEndpoint: string | null = null;
  #entries: Entry[] = [];
  #snapshotIndex = 0;
  #snapshotTerm = 0;
  #snapshotData: Uint8Array | null = null;
  #commitIndex = 0;
  #lastApplied = 0;

  #electionAt = 0;
  #retryAt = 0;
  #heartbeatAt = 0;
  #quorumCheckAt = 0;
  #lastLeaderContact = Number.NEGATIVE_INFINITY;
  readonly #lastHeard = new Map<string, number>();

  #votes = new Set<string>();
  readonly #nextIndex = new Map<string, number>();
  readonly #matchIndex = new Map<string, number>();
  readonly #recentActive = new Set<string>();
  #readSeq = 0;
  readonly #readAck = new Map<string, number>();
  #pendingReads: PendingRead[] = [];
  #waitingReads: string[] = [];

  #out: Ready<R> = emptyReady();
  #appendDue = false;
  #heartbeatDue = false;

  constructor(
    config: RaftConfig,
    deps: {
      clock: Pick<Clock, "now">;
      random: Random;
      stateMachine: StateMachine<R>;
      persisted?: PersistedState;
    },
  ) {
    if (config.electionMinMs > config.electionMaxMs) {
      throw new RangeError("expected electionMinMs <= electionMaxMs");
    }
    this.id = config.id;
    this.#peers = config.peers.filter((p) => p !== config.id);
    this.#cfg = {
      electionMinMs: config.electionMinMs,
      electionMaxMs: config.electionMaxMs,
      heartbeatMs: config.heartbeatMs,
      preVote: config.preVote ?? true,
      checkQuorum: config.checkQuorum ?? true,
      snapshotEvery: config.snapshotEvery ?? 0,
      maxBatch: config.maxBatch ?? 256,
      maxPendingReads: config.maxPendingReads ?? 10_000,
      clientEndpoint: config.clientEndpoint ?? "",
    };
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#sm = deps.stateMachine;
    this.#fsm = new Fsm(ROLE_TABLE, { pre_vote: () => this.#cfg.preVote });
    const p = deps.persisted;
    if (p) {
      this.#term = p.term;
      this.#votedFor = p.votedFor;
      if (p.snapshot) {
        this.#sm.restore(p.snapshot.data);
        this.#snapshotIndex = p.snapshot.index;
        this.#snapshotTerm = p.snapshot.term;
        this.#snapshotData = p.snapshot.data;
        this.#commitIndex = this.#lastApplied = p.snapshot.index;
      }
      this.#entries = p.entries.filter((e) => e.index > this.#snapshotIndex);
      this.#entries.forEach((e, i) => {
        if (e.index !== this.#snapshotIndex + 1 + i) {
          throw new RangeError(`persisted log has a gap at index ${this.#snapshotIndex + 1 + i}`);
        }
      });
    }
    this.#resetElectionTimer();
  }

  // ---- inputs ------------------------------------------------------------------------

  /** Handles one peer message (any term; stale and duplicate ones are harmless). */
  step(m: RaftMessage): void {
    const now = this.#clock.now();
    if (m.to !== this.id || m.from === this.id) return;
    if (!this.#peers.includes(m.from)) return;
    this.#lastHeard.set(m.from, now);

    if (m.term > this.#term) {
      if (m.type === "pre_vote" || (m.type === "pre_vote_reply" && m.granted)) {
        // Pre-votes never change terms: that is the point of them.
      } else if (m.type === "request_vote" && this.#inLease(now)) {
        return; // CheckQuorum's lease: a live leader is not deposed by a rejoining node.
      } else {
        const leader = m.type === "append" || m.type === "install_snapshot" ? m.from : null;
        this.#fire("higher_term", { term: m.term, leader });
      }
    } else if (m.term < this.#term) {
      if (m.type === "append") {
        this.#send({
          type: "append_reply",
          from: this.id,
          to: m.from,
          term: this.#term,
          success: false,
          matchIndex: 0,
          readSeq: 0,
        });
      } else if (m.type === "install_snapshot") {
        this.#send({
          type: "snapshot_reply",
          from: this.id,
          to: m.from,
          term: this.#term,
          matchIndex: 0,
        });
      } else if (m.type === "pre_vote") {
        this.#send({
          type: "pre_vote_reply",
          from: this.id,
          to: m.from,
          term: this.#term,
          granted: false,
        });
      } else if (m.type === "request_vote") {
        this.#send({
          type: "vote_reply",
          from: this.id,
          to: m.from,
          term: this.#term,
          granted: false,
        });
      }
      return;
    }

    switch (m.type) {
      case "pre_vote": {
        const granted = m.term > this.#term && this.#logOk(m.lastLogIndex, m.lastLogTerm) &&
          !this.#inLease(now) && this.#fsm.state !== "leader";
        this.#send({
          type: "pre_vote_reply",
          from: this.id,
          to: m.from,
          term: granted ? m.term : this.#term,
          granted,
        });
        return;
      }
      case "pre_vote_reply": {
        if (this.#fsm.state !== "pre_candidate" || m.term !== this.#term + 1) return;
        if (!m.granted) return;
        this.#votes.add(m.from);
        if (this.#votes.size >= this.#quorum()) this.#fire("pre_vote_quorum");
        return;
      }
      case "request_vote": {
        const granted = (this.#votedFor === null || this.#votedFor === m.from) &&
          this.#logOk(m.lastLogIndex, m.lastLogTerm);
        if (granted) {
          if (this.#votedFor !== m.from) {
            this.#votedFor = m.from;
            this.#persistHardState();
            this.#out.events.push({ event: "vote_granted", term: this.#term, candidate: m.from });
          }
          this.#resetElectionTimer();
        }
        this.#send({ type: "vote_reply", from: this.id, to: m.from, term: this.#term, granted });
        return;
      }
      case "vote_reply": {
        if (this.#fsm.state !== "candidate" || !m.granted) return;
        this.#votes.add(m.from);
        if (this.#votes.size >= this.#quorum()) this.#fire("vote_quorum");
        return;
      }
      case "append":
        this.#onLeaderContact(m.from, m.clientEndpoint, now);
        this.#onAppend(m);
        return;
      case "install_snapshot":
        this.#onLeaderContact(m.from, m.clientEndpoint, now);
        this.#onSnapshot(m);
        return;
      case "append_reply":
        if (this.#fsm.state !== "leader") return;
        this.#recentActive.add(m.from);
        this.#onAppendReply(m);
        return;
      case "snapshot_reply": {
        if (this.#fsm.state !== "leader") return;
        this.#recentActive.add(m.from);
        const match = Math.max(this.#matchIndex.get(m.from) ?? 0, m.matchIndex);
        this.#matchIndex.set(m.from, match);
        this.#nextIndex.set(m.from, match + 1);
        this.#maybeCommit();
        if (match < this.lastIndex) this.#sendAppend(m.from);
        return;
      }
    }
  }

  /** Runs the timers (election, vote retries, heartbeats, CheckQuorum). Call it often. */
  tick(): void {
    const now = this.#clock.now();
    const role = this.#fsm.state;
    if (role === "leader") {
      if (now >= this.#heartbeatAt) this.#broadcastAppend(true);
      if (this.#cfg.checkQuorum && now - this.#quorumCheckAt >= this.#cfg.electionMaxMs) {
        const active = this.#recentActive.size + 1;
        this.#recentActive.clear();
        this.#quorumCheckAt = now;
        if (active < this.#quorum()) {
          this.#fire("quorum_lost", {
            reason: `heard from ${active} of ${this.#peers.length + 1}`,
          });
        }
      }
      return;
    }
    if (now >= this.#electionAt) {
      this.#fire("election_timeout");
      return;
    }
    if ((role === "candidate" || role === "pre_candidate") && now >= this.#retryAt) {
      this.#sendVoteRequests(role === "pre_candidate");
    }
  }

  /**
   * Proposes a command at the leader: appended to the log (persisted with the next
   * ready) and replicated. Not the leader: says who is, if known.
   */
  propose(command: Command):
    | { ok: true; index: number; term: number }
    | { ok: false; leader: string | null; endpoint: string | null } {
    if (this.#fsm.state !== "leader") {
      return { ok: false, leader: this.#leader, endpoint: this.#leaderEndpoint };
    }
    const entry: Entry = { index: this.lastIndex + 1, term: this.#term, command };
    this.#appendLocal([entry]);
    this.#maybeCommit(); // a cluster of one
    this.#appendDue = true; // one append per peer for all the proposals of this batch
    return { ok: true, index: entry.index, term: this.#term };
  }

  /**
   * Starts a linearizable read (ReadIndex). Its outcome comes in `ready().reads`: ok with
   * the index the state machine has reached when it is safe to read it, or not the leader.
   */
  read(id: string): void {
    if (this.#fsm.state !== "leader") {
      this.#out.reads.push({ id, ok: false, leader: this.#leader });
      return;
    }
    if (this.#pendingReads.length + this.#waitingReads.length >= this.#cfg.maxPendingReads) {
      this.#out.reads.push({ id, ok: false, leader: this.id });
      return;
    }
    if (this.#termAt(this.#commitIndex) !== this.#term) {
      // Not yet committed anything in this term: the commit index may be stale (§6.4 step 1).
      this.#waitingReads.push(id);
      return;
    }
    this.#startRead(id);
  }

  /** Takes everything produced since the last call. */
  ready(): Ready<R> {
    this.#flushDue();
    const out = this.#out;
    this.#out = emptyReady();
    return out;
  }

  /** True when {@link RaftNode.ready} has something. */
  hasReady(): boolean {
    this.#flushDue();
    const o = this.#out;
    return o.persist.length + o.messages.length + o.applied.length + o.reads.length +
        o.events.length > 0;
  }

  // ---- state -------------------------------------------------------------------------

  /** The current role. */
  get role(): Role {
    return this.#fsm.state;
  }

  /** The current term. */
  get term(): number {
    return this.#term;
  }

  /** Index of the last log entry (the snapshot's when the log is empty). */
  get lastIndex(): number {
    return this.#entries.length > 0
      ? this.#entries[this.#entries.length - 1].index
      : this.#snapshotIndex;
  }

  /** The highest index known committed. */
  get commitIndex(): number {
    return this.#commitIndex;
  }

  /** The entries in memory after the snapshot (for tests). */
  entries(): readonly Entry[] {
    return this.#entries;
  }

  /** The term of entry `index`, if still known. */
  termAt(index: number): number | undefined {
    return this.#termAt(index);
  }

  /** Everything a view needs. */
  status(): RaftStatus {
    const now = this.#clock.now();
    return {
      id: this.id,
      role: this.#fsm.state,
      term: this.#term,
      votedFor: this.#votedFor,
      leader: this.#leader,
      leaderEndpoint: this.#leaderEndpoint,
      commitIndex: this.#commitIndex,
      lastApplied: this.#lastApplied,
      lastIndex: this.lastIndex,
      snapshotIndex: this.#snapshotIndex,
      peers: this.#peers.map((id) => {
        const heard = this.#lastHeard.get(id);
        return {
          id,
          matchIndex: this.#matchIndex.get(id) ?? 0,
          nextIndex: this.#nextIndex.get(id) ?? 0,
          lastHeardMs: heard === undefined ? null : Math.round(now - heard),
        };
      }),
    };
  }

  // ---- roles -------------------------------------------------------------------------

  #fire(event: RoleEvent, args: { term?: number; leader?: string | null; reason?: string } = {}) {
    const from = this.#fsm.state;
    const leaderBefore = this.#leader;
    const result = this.#fsm.fire(event);
    if (!result.ok) return;
    switch (result.action) {
      case "start_pre_vote":
        this.#startPreVote();
        break;
      case "start_election":
        this.#startElection();
        break;
      case "become_leader":
        this.#becomeLeader();
        break;
      case "follow":
      case "step_down":
        if (result.action === "step_down") {
          this.#out.events.push({
            event: "stepped_down",
            term: args.term ?? this.#term,
            reason: args.reason ?? `saw term ${args.term}`,
          });
        }
        this.#follow(args.term ?? this.#term, args.leader ?? null);
        break;
    }
    // Logged when the role or the known leader changes (a follower learning its new leader).
    if (from !== this.#fsm.state || leaderBefore !== this.#leader) {
      this.#out.events.push({
        event: "role_changed",
        state: this.#fsm.state,
        term: this.#term,
        leader: this.#leader,
      });
    }
  }

  #follow(term: number, leader: string | null) {
    if (term > this.#term) {
      this.#term = term;
      this.#votedFor = null;
      this.#persistHardState();
    }
    if (leader !== this.#leader) this.#leaderEndpoint = null;
    this.#leader = leader;
    this.#failReads();
    this.#votes.clear();
    this.#resetElectionTimer();
  }

  #startPreVote() {
    this.#leader = null;
    this.#leaderEndpoint = null;
    this.#votes = new Set([this.id]);
    this.#out.events.push({ event: "election_started", term: this.#term + 1, preVote: true });
    this.#resetElectionTimer();
    this.#sendVoteRequests(true);
    if (this.#votes.size >= this.#quorum()) this.#fire("pre_vote_quorum");
  }

  #startElection() {
    this.#term += 1;
    this.#votedFor = this.id;
    this.#leader = null;
    this.#leaderEndpoint = null;
    this.#persistHardState();
    this.#votes = new Set([this.id]);
    this.#out.events.push({ event: "election_started", term: this.#term, preVote: false });
    this.#resetElectionTimer();
    this.#sendVoteRequests(false);
    if (this.#votes.size >= this.#quorum()) this.#fire("vote_quorum");
  }

  #becomeLeader() {
    const now = this.#clock.now();
    this.#leader = this.id;
    this.#leaderEndpoint = this.#cfg.clientEndpoint || null;
    this.#recentActive.clear();
    this.#quorumCheckAt = now;
    this.#readAck.clear();
    for (const p of this.#peers) {
      this.#nextIndex.set(p, this.lastIndex + 1);
      this.#matchIndex.set(p, 0);
    }
    this.#out.events.push({ event: "became_leader", term: this.#term });
    // A no-op of the new term: committing it commits everything before it (§5.4.2) and
    // lets ReadIndex start (§6.4).
    this.#appendLocal([{ index: this.lastIndex + 1, term: this.#term, command: { op: "noop" } }]);
    this.#maybeCommit();
    this.#broadcastAppend(true);
  }

  #onLeaderContact(leader: string, endpoint: string, now: number) {
    if (this.#fsm.state !== "follower" || this.#leader !== leader) {
      this.#fire("leader_seen", { term: this.#term, leader });
    }
    this.#leader = leader;
    this.#leaderEndpoint = endpoint || null;
    this.#lastLeaderContact = now;
    this.#resetElectionTimer();
  }

  // ---- replication -------------------------------------------------------------------

  #onAppend(m: Extract<RaftMessage, { type: "append" }>) {
    let prevIndex = m.prevLogIndex;
    let prevTerm = m.prevLogTerm;
    let entries = m.entries;
    if (prevIndex < this.#snapshotIndex) {
      // Everything up to the snapshot is committed here already: skip that part.
      const skip = this.#snapshotIndex - prevIndex;
      if (skip > entries.length) {
        this.#replyAppend(m, true, this.#snapshotIndex);
        return;
      }
      const last = skip > 0 ? entries[skip - 1] : undefined;
      if (last && last.term !== this.#snapshotTerm) {
        this.#replyAppend(m, false, this.#snapshotIndex);
        return;
      }
      entries = entries.slice(skip);
      prevIndex = this.#snapshotIndex;
      prevTerm = this.#snapshotTerm;
    }
    if (prevIndex > this.lastIndex) {
      this.#replyAppend(m, false, this.lastIndex);
      return;
    }
    const localPrevTerm = this.#termAt(prevIndex);
    if (localPrevTerm !== prevTerm) {
      // Skip back over the whole conflicting term in one round trip.
      let hint = prevIndex - 1;
      while (
        hint > this.#snapshotIndex && hint > this.#commitIndex &&
        this.#termAt(hint) === localPrevTerm
      ) hint--;
      this.#replyAppend(m, false, Math.max(hint, this.#snapshotIndex));
      return;
    }
    const fresh: Entry[] = [];
    for (const e of entries) {
      if (fresh.length === 0 && e.index <= this.lastIndex) {
        const local = this.#termAt(e.index);
        if (local === e.term) continue; // already have it: appends are idempotent
        if (e.index <= this.#commitIndex) {
          throw new Error(`refusing to truncate committed entry ${e.index}`);
        }
        this.#entries.length = e.index - this.#snapshotIndex - 1;
        this.#out.persist.push({ kind: "truncate", from: e.index });
        this.#out.events.push({ event: "log_truncated", from: e.index });
      }
      fresh.push(e);
    }
    if (fresh.length > 0) this.#appendLocal(fresh);
    const lastNew = prevIndex + entries.length;
    if (m.leaderCommit > this.#commitIndex) {
      this.#commitTo(Math.min(m.leaderCommit, lastNew));
    }
    this.#replyAppend(m, true, lastNew);
  }

  #replyAppend(m: Extract<RaftMessage, { type: "append" }>, success: boolean, matchIndex: number) {
    this.#send({
      type: "append_reply",
      from: this.id,
      to: m.from,
      term: this.#term,
      success,
      matchIndex,
      readSeq: m.readSeq,
    });
  }

  #onAppendReply(m: Extract<RaftMessage, { type: "append_reply" }>) {
    const peer = m.from;
    if (m.readSeq > (this.#readAck.get(peer) ?? 0)) this.#readAck.set(peer, m.readSeq);
    const match = this.#matchIndex.get(peer) ?? 0;
    if (m.success) {
      if (m.matchIndex > match) {
        this.#matchIndex.set(peer, m.matchIndex);
        if ((this.#nextIndex.get(peer) ?? 0) <= m.matchIndex) {
          this.#nextIndex.set(peer, m.matchIndex + 1);
        }
        this.#maybeCommit();
        // A follower catching up: keep the pipeline going instead of waiting for a heartbeat.
        if ((this.#nextIndex.get(peer) ?? 0) <= this.lastIndex) this.#sendAppend(peer);
      }
    } else if (m.matchIndex >= match) {
      // Rejected: go back to just after what the follower may share with us, and retry now.
      this.#nextIndex.set(
        peer,
        Math.max(match + 1, Math.min(this.#nextIndex.get(peer) ?? 1, m.matchIndex + 1)),
      );
      this.#sendAppend(peer);
    }
    this.#checkReads();
  }

  #onSnapshot(m: Extract<RaftMessage, { type: "install_snapshot" }>) {
    const reply = (matchIndex: number) =>
      this.#send({
        type: "snapshot_reply",
        from: this.id,
        to: m.from,
        term: this.#term,
        matchIndex,
      });
    if (m.lastIncludedIndex <= this.#commitIndex) {
      reply(this.#commitIndex);
      return;
    }
    if (this.#termAt(m.lastIncludedIndex) === m.lastIncludedTerm) {
      this.#entries = this.#entries.filter((e) => e.index > m.lastIncludedIndex);
    } else {
      if (this.#entries.length > 0) {
        this.#out.persist.push({ kind: "truncate", from: this.#snapshotIndex + 1 });
      }
      this.#entries = [];
    }
    this.#sm.restore(m.data);
    this.#snapshotIndex = m.lastIncludedIndex;
    this.#snapshotTerm = m.lastIncludedTerm;
    this.#snapshotData = m.data;
    this.#commitIndex = this.#lastApplied = m.lastIncludedIndex;
    this.#out.persist.push({
      kind: "snapshot",
      index: m.lastIncludedIndex,
      term: m.lastIncludedTerm,
      data: m.data,
    });
    this.#out.events.push({
      event: "snapshot_installed",
      index: m.lastIncludedIndex,
      term: m.lastIncludedTerm,
    });
    this.#applyCommitted();
    reply(m.lastIncludedIndex);
  }

  #appendLocal(entries: Entry[]) {
    this.#entries.push(...entries);
    this.#out.persist.push({ kind: "append", entries });
  }

  #broadcastAppend(heartbeat: boolean) {
    if (heartbeat) this.#heartbeatAt = this.#clock.now() + this.#cfg.heartbeatMs;
    for (const p of this.#peers) {
      if (heartbeat) {
        // Retransmit everything not yet acknowledged (lost to a slow joiner or an HWM).
        this.#nextIndex.set(p, (this.#matchIndex.get(p) ?? 0) + 1);
        this.#sendAppend(p);
      } else if ((this.#nextIndex.get(p) ?? 1) <= this.lastIndex) {
        this.#sendAppend(p);
      }
    }
  }

  #sendAppend(peer: string) {
    const next = this.#nextIndex.get(peer) ?? this.lastIndex + 1;
    if (next <= this.#snapshotIndex) {
      if (!this.#snapshotData) return;
      this.#send({
        type: "install_snapshot",
        from: this.id,
        to: peer,
        term: this.#term,
        lastIncludedIndex: this.#snapshotIndex,
        lastIncludedTerm: this.#snapshotTerm,
        data: this.#snapshotData,
        clientEndpoint: this.#cfg.clientEndpoint,
      });
      // Wait for the snapshot_reply (or the next heartbeat) before sending more.
      this.#nextIndex.set(peer, this.#snapshotIndex + 1);
      return;
    }
    const prevLogIndex = next - 1;
    const start = next - this.#snapshotIndex - 1;
    const entries = this.#entries.slice(start, start + this.#cfg.maxBatch);
    this.#send({
      type: "append",
      from: this.id,
      to: peer,
      term: this.#term,
      prevLogIndex,
      prevLogTerm: this.#termAt(prevLogIndex) ?? 0,
      entries,
      leaderCommit: this.#commitIndex,
      readSeq: this.#readSeq,
      clientEndpoint: this.#cfg.clientEndpoint,
    });
    // Pipeline: the next append carries what comes after these (a heartbeat resets it).
    this.#nextIndex.set(peer, next + entries.length);
  }

  #maybeCommit() {
    if (this.#fsm.state !== "leader") return;
    const matches = [this.lastIndex, ...this.#peers.map((p) => this.#matchIndex.get(p) ?? 0)]
      .sort((a, b) => b - a);
    const n = matches[this.#quorum() - 1];
    // Only an entry of the current term is committed by counting replicas (§5.4.2).
    if (n > this.#commitIndex && this.#termAt(n) === this.#term) {
      this.#commitTo(n);
      if (this.#waitingReads.length > 0) {
        const waiting = this.#waitingReads;
        this.#waitingReads = [];
        for (const id of waiting) this.#startRead(id);
      }
    }
  }

  #commitTo(index: number) {
    if (index <= this.#commitIndex) return;
    this.#commitIndex = Math.min(index, this.lastIndex);
    this.#applyCommitted();
  }

  #applyCommitted() {
    while (this.#lastApplied < this.#commitIndex) {
      const index = this.#lastApplied + 1;
      const entry = this.#entries[index - this.#snapshotIndex - 1];
      const result = this.#sm.apply(entry.command);
      this.#lastApplied = index;
      this.#out.applied.push({ index, term: entry.term, command: entry.command, result });
    }
    const every = this.#cfg.snapshotEvery;
    if (every > 0 && this.#lastApplied - this.#snapshotIndex >= every) {
      const index = this.#lastApplied;
      const term = this.#termAt(index)!;
      const data = this.#sm.snapshot();
      this.#entries = this.#entries.filter((e) => e.index > index);
      this.#snapshotIndex = index;
      this.#snapshotTerm = term;
      this.#snapshotData = data;
      this.#out.persist.push({ kind: "snapshot", index, term, data });
      this.#out.events.push({ event: "snapshot_taken", index, term });
    }
  }

  // ---- reads -------------------------------------------------------------------------

  #startRead(id: string) {
    this.#readSeq += 1;
    this.#pendingReads.push({ id, index: this.#commitIndex, seq: this.#readSeq });
    if (this.#peers.length === 0) this.#checkReads();
    else this.#heartbeatDue = true; // one heartbeat round confirms every read of this batch
  }

  #flushDue() {
    if (this.#fsm.state === "leader") {
      if (this.#heartbeatDue) this.#broadcastAppend(true);
      else if (this.#appendDue) this.#broadcastAppend(false);
    }
    this.#heartbeatDue = this.#appendDue = false;
  }

  #checkReads() {
    if (this.#pendingReads.length === 0) return;
    let done = 0;
    for (const read of this.#pendingReads) {
      let acks = 1;
      for (const p of this.#peers) if ((this.#readAck.get(p) ?? 0) >= read.seq) acks++;
      if (acks < this.#quorum() || this.#lastApplied < read.index) break;
      this.#out.reads.push({ id: read.id, ok: true, index: read.index });
      done++;
    }
    if (done > 0) this.#pendingReads = this.#pendingReads.slice(done);
  }

  #failReads() {
    for (const r of this.#pendingReads) {
      this.#out.reads.push({ id: r.id, ok: false, leader: this.#leader });
    }
    for (const id of this.#waitingReads) {
      this.#out.reads.push({ id, ok: false, leader: this.#leader });
    }
    this.#pendingReads = [];
    this.#waitingReads = [];
  }

  // ---- helpers -----------------------------------------------------------------------

  #sendVoteRequests(pre: boolean) {
    this.#retryAt = this.#clock.now() + this.#cfg.heartbeatMs;
    const lastLogIndex = this.lastIndex;
    const lastLogTerm = this.#termAt(lastLogIndex) ?? 0;
    for (const p of this.#peers) {
      if (this.#votes.has(p)) continue;
      this.#send(
        pre
          ? {
            type: "pre_vote",
            from: this.id,
            to: p,
            term: this.#term + 1,
            lastLogIndex,
            lastLogTerm,
          }
          : {
            type: "request_vote",
            from: this.id,
            to: p,
            term: this.#term,
            lastLogIndex,
            lastLogTerm,
          },
      );
    }
  }

  /** The election restriction (§5.4.1): the candidate's log is at least as up to date. */
  #logOk(lastLogIndex: number, lastLogTerm: number): boolean {
    const myIndex = this.lastIndex;
    const myTerm = this.#termAt(myIndex) ?? 0;
    return lastLogTerm > myTerm || (lastLogTerm === myTerm && lastLogIndex >= myIndex);
  }

  #inLease(now: number): boolean {
    return this.#cfg.checkQuorum && this.#leader !== null &&
      (this.#leader === this.id || now - this.#lastLeaderContact < this.#cfg.electionMinMs);
  }

  #termAt(index: number): number | undefined {
    if (index === 0) return 0;
    if (index === this.#snapshotIndex) return this.#snapshotTerm;
    if (index < this.#snapshotIndex || index > this.lastIndex) return undefined;
    return this.#entries[index - this.#snapshotIndex - 1].term;
  }

  #quorum(): number {
    return Math.floor((this.#peers.length + 1) / 2) + 1;
  }

  #resetElectionTimer() {
    const { electionMinMs: min, electionMaxMs: max } = this.#cfg;
    this.#electionAt = this.#clock.now() + min + this.#random() * (max - min);
  }

  #persistHardState() {
    this.#out.persist.push({ kind: "hard_state", term: this.#term, votedFor: this.#votedFor });
  }

  #send(m: RaftMessage) {
    this.#out.messages.push(m);
  }
}

function emptyReady<R>(): Ready<R> {
  return { persist: [], messages: [], applied: [], reads: [], events: [] };
}
