/**
 * Consistent hashing with virtual nodes: every node owns `vnodes` tokens on a 32-bit ring
 * (MurmurHash3 of `"<node>#<i>"`); a key (MurmurHash3 of its UTF-8 bytes) belongs to the
 * first token clockwise from it, and its preference list is the first N *distinct* nodes
 * met walking clockwise from there (Dynamo, §4.2–4.3).
 *
 * @module
 */

const utf8 = new TextEncoder();

/**
 * MurmurHash3 (x86, 32-bit) of `data`: cheap, well mixed, deterministic on every platform.
 *
 * @example
 * ```ts
 * import { murmur3 } from "./ring.ts";
 * murmur3("hello"); // 0x248bfa47
 * ```
 */
export function murmur3(data: string | Uint8Array, seed = 0): number {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51, c2 = 0x1b873593;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (bytes.length & 3) {
    case 3:
      k ^= bytes[blocks + 2] << 16;
    // falls through
    case 2:
      k ^= bytes[blocks + 1] << 8;
    // falls through
    case 1:
      k ^= bytes[blocks];
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The ring size: tokens and key hashes are in [0, 2^32). */
export const RING_SIZE = 2 ** 32;

/** One token on the ring and the node that owns it. */
export interface Token {
  token: number;
  node: string;
}

/** A range of the ring, (start, end] clockwise (it wraps when start >= end). */
export interface Range {
  start: number;
  end: number;
}

/**
 * An immutable ring of nodes with virtual nodes. Build a new one on each membership change
 * and compare the two to find the keys whose owners changed ({@link planTransfers}).
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts";
 * const ring = new Ring(["a", "b", "c"], 64);
 * ring.preferenceList("user:42", 2); // e.g. ["b", "a"]
 * ```
 */
export class Ring {
  /** Tokens in ascending order. */
  readonly tokens: readonly Token[];
  /** The nodes on the ring, sorted. */
  readonly nodes: readonly string[];
  /** Tokens per node (unless a node announced its own count). */
  readonly vnodes: number;

  /**
   * `vnodes` tokens per node, or `vnodesOf(node)` for nodes that announce their own count
   * (a bigger machine takes more tokens, hence more keys).
   */
  constructor(nodes: Iterable<string>, vnodes: number, vnodesOf?: (node: string) => number) {
    if (!Number.isInteger(vnodes) || vnodes < 1) throw new RangeError("vnodes must be >= 1");
    this.vnodes = vnodes;
    this.nodes = [...new Set(nodes)].sort();
    const tokens: Token[] = [];
    for (const node of this.nodes) {
      const count = vnodesOf?.(node) ?? vnodes;
      for (let i = 0; i < count; i++) tokens.push({ token: murmur3(`${node}#${i}`), node });
    }
    // Ties (astronomically rare) are broken by node id so every node sorts the same way.
    tokens.sort((a, b) => a.token - b.token || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    this.tokens = tokens;
  }

  /** The ring position of a key. */
  static position(key: string): number {
    return murmur3(key);
  }

  /** Index of the first token at or clockwise after `position`. */
  #first(position: number): number {
    const t = this.tokens;
    let lo = 0, hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t[mid].token < position) lo = mid + 1;
      else hi = mid;
    }
    return lo === t.length ? 0 : lo;
  }

  /**
   * The first `n` distinct nodes clockwise from the key (fewer when the ring has fewer).
   */
  preferenceList(key: string, n: number): string[] {
    return this.walk(Ring.position(key), n);
  }

  /** The first `n` distinct nodes clockwise from a ring position. */
  walk(position: number, n: number): string[] {
    const out: string[] = [];
    if (this.tokens.length === 0) return out;
    const want = Math.min(n, this.nodes.length);
    const start = this.#first(position);
    for (let i = 0; i < this.tokens.length && out.length < want; i++) {
      const node = this.tokens[(start + i) % this.tokens.length].node;
      if (!out.includes(node)) out.push(node);
    }
    return out;
  }

  /** The primary owner of a key (first of its preference list), or undefined when empty. */
  owner(key: string): string | undefined {
    return this.preferenceList(key, 1)[0];
  }

  /** The ranges (start, end] whose primary owner is `node`. */
  ranges(node: string): Range[] {
    const t = this.tokens;
    const out: Range[] = [];
    for (let i = 0; i < t.length; i++) {
      if (t[i].node !== node) continue;
      const prev = t[(i - 1 + t.length) % t.length].token;
      out.push({ start: prev, end: t[i].token });
    }
    return out;
  }

  /** Share of the ring (0..1) whose primary owner is each node. */
  ownership(): Map<string, number> {
    const share = new Map<string, number>(this.nodes.map((n) => [n, 0]));
    const t = this.tokens;
    if (t.length === 1) share.set(t[0].node, 1);
    for (let i = 0; i < t.length && t.length > 1; i++) {
      const prev = t[(i - 1 + t.length) % t.length].token;
      const width = (t[i].token - prev + RING_SIZE) % RING_SIZE;
      share.set(t[i].node, (share.get(t[i].node) ?? 0) + width / RING_SIZE);
    }
    return share;
  }
}

/** What one node must do with its keys after a ring change. */
export interface TransferPlan {
  /** Keys to send, by destination node. */
  send: Map<string, string[]>;
  /** Keys this node replicated and no longer does: drop them once their sends are acked. */
  drop: string[];
}

/**
 * The keys whose replica set changed between two rings, as seen by `self`: for each key it
 * holds, the nodes that joined the key's preference list get it from exactly one sender —
 * the old replica that falls out of the list (it hands its copy over), or the old primary
 * when nobody falls out (the ring had fewer than N nodes). Keys whose preference list did
 * not change move nowhere: a join or leave moves only the keys whose owners changed.
 *
 * @example
 * ```ts
 * import { planTransfers, Ring } from "./ring.ts";
 * const before = new Ring(["a", "b", "c"], 16), after = new Ring(["a", "b", "c", "d"], 16);
 * const plan = planTransfers(before, after, "a", ["k1", "k2", "k3"], 2);
 * plan.send.get("d"); // the keys "a" hands over to the newcomer, if any
 * ```
 */
export function planTransfers(
  before: Ring,
  after: Ring,
  self: string,
  keys: Iterable<string>,
  n: number,
): TransferPlan {
  const send = new Map<string, string[]>();
  const drop: string[] = [];
  for (const key of keys) {
    const position = Ring.position(key);
    const old = before.walk(position, n);
    const now = after.walk(position, n);
    const added = now.filter((x) => !old.includes(x) && x !== self);
    const removed = old.filter((x) => !now.includes(x));
    if (removed.includes(self)) drop.push(key);
    if (added.length === 0) continue;
    if (removed.length > 0) {
      // The i-th replica that falls out hands its copy to the i-th newcomer; the last one
      // also serves any further newcomers.
      const mine = removed.indexOf(self);
      if (mine < 0) continue;
      const targets = mine === removed.length - 1 ? added.slice(mine) : [added[mine]];
      for (const to of targets) if (to !== undefined) push(send, to, key);
    } else if (old[0] === self) {
      // Nobody falls out (the ring had fewer than N nodes): the old primary sends.
      for (const to of added) push(send, to, key);
    }
  }
  return { send, drop };
}

function push(map: Map<string, string[]>, to: string, key: string): void {
  const list = map.get(to);
  if (list) list.push(key);
  else map.set(to, [key]);
}
