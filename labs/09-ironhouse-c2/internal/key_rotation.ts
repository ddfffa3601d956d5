/**
 * Key rotation (`rotate_key`), make-before-break, in two commands over the live,
 * authenticated session:
 *
 * 1. server → agent `rotate_key`: the agent generates a new pair, stages the secret as
 *    `NAME.next.key_secret` (0600; no public file, so nothing lands in an allow-list
 *    directory by itself) and answers with the new public key. That answer travels inside
 *    the CURVE session authenticated as the OLD key, and the server checks the message's
 *    ZAP `User-Id` is that key: only the holder of the old secret can name its successor.
 * 2. The server enrols the new key beside the old (`NAME.rotating.key` in the allow-list
 *    directory) and sends `rotate_commit` {fingerprint}; the agent promotes the staged
 *    pair (rename over `NAME.key_secret`, rewrite `NAME.key`), answers, and redials with
 *    the new key.
 * 3. The first message authenticated as the new key proves the agent holds its secret:
 *    the server renames `NAME.rotating.key` over `NAME.key`, which removes the old key from
 *    the allow-list, and the reload revokes it (its session is dropped, its next handshake
 *    refused). A rotation not finished within `--rotation-timeout` is aborted (the
 *    rotating certificate is removed; the old key stays).
 *
 * This file holds the agent's file steps and the server's bookkeeping (sans-IO).
 *
 * @module
 */
import { curveKeyPair } from "@lib/zmq/mod.ts";
import { CertError, certPaths, fingerprint, formatCert, readSecretCert } from "@lib/zmq/zcert.ts";

/** `dir/NAME.key_secret` → `dir/NAME.next.key_secret`. */
export function stagedPath(secretPath: string): string {
  return secretPath.replace(/\.key_secret$/, ".next.key_secret");
}

/**
 * Agent step 1: generates and stages a new pair (replacing a stale staged one); returns
 * the new public key.
 *
 * @example
 * ```ts
 * import { generateCert } from "@lib/zmq/zcert.ts";
 * import { stageNewKey } from "./key_rotation.ts";
 * const dir = await Deno.makeTempDir();
 * await generateCert(`${dir}/a.key_secret`);
 * const next = stageNewKey(`${dir}/a.key_secret`, { name: "a" });
 * ```
 */
export function stageNewKey(secretPath: string, metadata: Record<string, string>): string {
  const path = stagedPath(secretPath);
  const { publicKey, secretKey } = curveKeyPair();
  try {
    Deno.removeSync(path);
  } catch {
    // none staged
  }
  const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
  try {
    Deno.chmodSync(path, 0o600);
    file.writeSync(new TextEncoder().encode(formatCert({ publicKey, secretKey, metadata })));
    file.syncSync();
  } finally {
    file.close();
  }
  return publicKey;
}

/**
 * Agent step 2: promotes the staged pair if its public key has `expectedFingerprint`
 * (rename over the secret file, then rewrite the public file). Returns the new keys.
 * Throws a {@link CertError} (never quoting a key) when nothing matching is staged.
 *
 * @example
 * ```ts
 * import { fingerprint, generateCert } from "@lib/zmq/zcert.ts";
 * import { promoteStagedKey, stageNewKey } from "./key_rotation.ts";
 * const dir = await Deno.makeTempDir();
 * await generateCert(`${dir}/a.key_secret`);
 * const next = stageNewKey(`${dir}/a.key_secret`, { name: "a" });
 * promoteStagedKey(`${dir}/a.key_secret`, fingerprint(next)).publicKey === next; // true
 * ```
 */
export function promoteStagedKey(
  secretPath: string,
  expectedFingerprint: string,
): { publicKey: string; secretKey: string } {
  const path = stagedPath(secretPath);
  let staged;
  try {
    staged = readSecretCert(path);
  } catch (error) {
    throw new CertError(`no staged key to commit: ${(error as Error).message}`);
  }
  if (fingerprint(staged.publicKey) !== expectedFingerprint) {
    throw new CertError("the staged key's fingerprint is not the one the server enrolled");
  }
  Deno.renameSync(path, secretPath);
  const { publicPath } = certPaths(secretPath);
  const tmp = `${publicPath}.tmp`;
  Deno.writeTextFileSync(
    tmp,
    formatCert({ publicKey: staged.publicKey, metadata: staged.metadata }),
    {
      mode: 0o644,
    },
  );
  Deno.renameSync(tmp, publicPath);
  return { publicKey: staged.publicKey, secretKey: staged.secretKey };
}

/** A Z85 CURVE public key as an agent reports it: 40 Z85 characters decoding to 32 bytes. */
export function isPublicKey(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/.test(value);
}

/** One rotation in progress on the server. */
export interface Rotation {
  oldKey: string;
  newKey: string;
  /** The certificate name (file base name) in the allow-list directory. */
  name: string;
  startedAt: number;
  committed: boolean;
}

/**
 * The server's rotations in progress and when each session's key is due for rotation.
 *
 * @example
 * ```ts
 * import { Rotations } from "./key_rotation.ts";
 * const rotations = new Rotations({ everyMs: 60_000, timeoutMs: 30_000, max: 100 });
 * rotations.due("k", 0); // false: first seen now
 * rotations.due("k", 60_000); // true
 * ```
 */
export class Rotations {
  #byOld = new Map<string, Rotation>();
  #byNew = new Map<string, Rotation>();
  #keySince = new Map<string, number>();
  #everyMs: number;
  #timeoutMs: number;
  #max: number;

  constructor(options: { everyMs: number; timeoutMs: number; max: number }) {
    this.#everyMs = options.everyMs;
    this.#timeoutMs = options.timeoutMs;
    this.#max = options.max;
  }

  /** Whether `key` should be rotated now (`everyMs` after it was first seen; 0: never). */
  due(key: string, now: number): boolean {
    if (this.#everyMs <= 0) return false;
    const since = this.#keySince.get(key);
    if (since === undefined) {
      if (this.#keySince.size >= this.#max) {
        this.#keySince.delete(this.#keySince.keys().next().value!);
      }
      this.#keySince.set(key, now);
      return false;
    }
    return !this.#byOld.has(key) && now - since >= this.#everyMs;
  }

  /** Records the agent's answer to `rotate_key`; refuses a key already in use. */
  start(oldKey: string, newKey: string, name: string, now: number, inUse: (key: string) => boolean):
    | { ok: true; rotation: Rotation }
    | { ok: false; reason: string } {
    if (oldKey === newKey || inUse(newKey) || this.#byNew.has(newKey)) {
      return { ok: false, reason: "the new key is already in use" };
    }
    if (this.#byOld.has(oldKey)) return { ok: false, reason: "a rotation is already in progress" };
    if (this.#byOld.size >= this.#max) {
      return { ok: false, reason: "too many rotations in progress" };
    }
    const rotation: Rotation = { oldKey, newKey, name, startedAt: now, committed: false };
    this.#byOld.set(oldKey, rotation);
    this.#byNew.set(newKey, rotation);
    return { ok: true, rotation };
  }

  /** The rotation whose new key just authenticated, removed from the books. */
  finish(newKey: string, now: number): Rotation | undefined {
    const rotation = this.#byNew.get(newKey);
    if (!rotation) return undefined;
    this.#byNew.delete(newKey);
    this.#byOld.delete(rotation.oldKey);
    this.#keySince.delete(rotation.oldKey);
    this.#keySince.set(newKey, now);
    return rotation;
  }

  /** Rotations older than the timeout, removed from the books. */
  expire(now: number): Rotation[] {
    const gone: Rotation[] = [];
    for (const rotation of this.#byOld.values()) {
      if (now - rotation.startedAt >= this.#timeoutMs) gone.push(rotation);
    }
    for (const rotation of gone) {
      this.#byOld.delete(rotation.oldKey);
      this.#byNew.delete(rotation.newKey);
    }
    return gone;
  }

  /** How many rotations are in progress. */
  get size(): number {
    return this.#byOld.size;
  }
}
