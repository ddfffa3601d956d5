/**
 * A compressed prefix tree (radix tree) over binary strings, used by the last value cache
 * to find every cached topic under a subscription prefix without scanning all topics.
 *
 * Keys are "binary strings": one char per byte (char codes 0..255), so any ZeroMQ topic
 * frame maps to a key 1:1 (see {@linkcode bytesToKey}). Insert, delete and lookup cost
 * O(key length); a prefix walk costs O(prefix length + nodes under the prefix), which is
 * O(matches) because every inner node of a compressed tree has at least two children
 * or holds a value.
 *
 * @module
 */

class RadixNode<V> {
  /** Edge label from the parent to this node. */
  label: string;
  /** Children keyed by the first char of their label. */
  children: Map<string, RadixNode<V>> | null = null;
  hasValue = false;
  value: V | undefined = undefined;

  constructor(label: string) {
    this.label = label;
  }

  setChild(child: RadixNode<V>): void {
    (this.children ??= new Map()).set(child.label[0], child);
  }

  childCount(): number {
    return this.children?.size ?? 0;
  }

  onlyChild(): RadixNode<V> {
    return this.children!.values().next().value!;
  }
}

/** Length of the common prefix of `label` and `key` starting at `key[from]`. */
function commonLength(label: string, key: string, from: number): number {
  const max = Math.min(label.length, key.length - from);
  let i = 0;
  while (i < max && label.charCodeAt(i) === key.charCodeAt(from + i)) i++;
  return i;
}

/**
 * Converts topic bytes to a binary-string key (one char per byte).
 *
 * @example
 * ```ts
 * bytesToKey(new Uint8Array([0x61, 0xff])); // "a\xff"
 * ```
 */
export function bytesToKey(bytes: Uint8Array): string {
  if (bytes.length <= 4096) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return out;
}

/**
 * Converts a binary-string key back to bytes.
 *
 * @example
 * ```ts
 * keyToBytes("a\xff"); // Uint8Array [0x61, 0xff]
 * ```
 */
export function keyToBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i) & 0xff;
  return out;
}

/**
 * A radix tree mapping binary-string keys to values, with prefix enumeration.
 *
 * @example
 * ```ts
 * const t = new RadixTree<number>();
 * t.set("plant/temp/1", 1);
 * t.set("plant/rh/1", 2);
 * [...t.prefix("plant/t")]; // [["plant/temp/1", 1]]
 * ```
 */
export class RadixTree<V> {
  #root = new RadixNode<V>("");
  #size = 0;

  /** Number of keys stored. */
  get size(): number {
    return this.#size;
  }

  /** Sets `key` to `value`; returns true when the key is new. */
  set(key: string, value: V): boolean {
    let node = this.#root;
    let i = 0;
    while (i < key.length) {
      const child = node.children?.get(key[i]);
      if (!child) {
        const leaf = new RadixNode<V>(key.slice(i));
        leaf.hasValue = true;
        leaf.value = value;
        node.setChild(leaf);
        this.#size++;
        return true;
      }
      const common = commonLength(child.label, key, i);
      if (common < child.label.length) {
        // Split the edge: node -> mid(label[0..common]) -> child(label[common..]).
        const mid = new RadixNode<V>(child.label.slice(0, common));
        child.label = child.label.slice(common);
        mid.setChild(child);
        node.setChild(mid);
        node = mid;
      } else {
        node = child;
      }
      i += common;
    }
    const isNew = !node.hasValue;
    node.hasValue = true;
    node.value = value;
    if (isNew) this.#size++;
    return isNew;
  }

  /** The value stored under exactly `key`, or undefined. */
  get(key: string): V | undefined {
    const node = this.#find(key);
    return node?.hasValue ? node.value : undefined;
  }

  /** True when exactly `key` is stored. */
  has(key: string): boolean {
    return this.#find(key)?.hasValue ?? false;
  }

  #find(key: string): RadixNode<V> | undefined {
    let node = this.#root;
    let i = 0;
    while (i < key.length) {
      const child = node.children?.get(key[i]);
      if (!child || !key.startsWith(child.label, i)) return undefined;
      node = child;
      i += child.label.length;
    }
    return node;
  }

  /** Removes `key`; returns true when it was stored. Merges nodes so the tree stays compressed. */
  delete(key: string): boolean {
    const path: RadixNode<V>[] = [this.#root];
    let node = this.#root;
    let i = 0;
    while (i < key.length) {
      const child = node.children?.get(key[i]);
      if (!child || !key.startsWith(child.label, i)) return false;
      node = child;
      path.push(node);
      i += child.label.length;
    }
    if (!node.hasValue) return false;
    node.hasValue = false;
    node.value = undefined;
    this.#size--;
    if (node === this.#root) return true;
    const parent = path[path.length - 2];
    if (node.childCount() === 0) {
      parent.children!.delete(node.label[0]);
      // The parent may now be a valueless pass-through node with one child: merge it.
      if (parent !== this.#root && !parent.hasValue && parent.childCount() === 1) {
        this.#mergeWithOnlyChild(parent, path[path.length - 3]);
      }
    } else if (node.childCount() === 1) {
      this.#mergeWithOnlyChild(node, parent);
    }
    return true;
  }

  #mergeWithOnlyChild(node: RadixNode<V>, parent: RadixNode<V>): void {
    const child = node.onlyChild();
    child.label = node.label + child.label;
    parent.setChild(child);
  }

  /** Yields every `[key, value]` whose key starts with `prefix` ("" yields all). */
  *prefix(prefix: string): Generator<[string, V]> {
    let node = this.#root;
    let i = 0;
    let path = "";
    while (i < prefix.length) {
      const child = node.children?.get(prefix[i]);
      if (!child) return;
      const rest = prefix.length - i;
      if (child.label.length >= rest) {
        if (!child.label.startsWith(prefix.slice(i))) return;
      } else if (!prefix.startsWith(child.label, i)) {
        return;
      }
      path += child.label;
      node = child;
      i += child.label.length;
    }
    // Iterative depth-first walk of the subtree under `node`.
    const stack: [RadixNode<V>, string][] = [[node, path]];
    while (stack.length > 0) {
      const [n, key] = stack.pop()!;
      if (n.hasValue) yield [key, n.value as V];
      if (n.children) {
        for (const c of n.children.values()) stack.push([c, key + c.label]);
      }
    }
  }

  /** Number of nodes (for tests of compression). */
  nodeCount(): number {
    let count = 0;
    const stack = [this.#root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      count++;
      if (n.children) stack.push(...n.children.values());
    }
    return count;
  }
}
