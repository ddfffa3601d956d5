/**
 * Keyed pseudonymisation and free-text redaction.
 *
 * - IPv4/IPv6 addresses become `ip_<16 hex>` and user names `user_<16 hex>`: the first
 *   64 bits of HMAC-SHA-256(secret, kind + ":" + canonical value). The same input (and
 *   the same secret) always gives the same token; without the secret a token cannot be
 *   reversed or confirmed by brute force over the address space.
 * - Emails, payment card numbers (13-19 digits passing the Luhn check) and secrets
 *   (`password=`, `token:`, `api_key=`, `Bearer ...`, AWS access key ids, JWTs) in free
 *   text are replaced by `[REDACTED:email]`, `[REDACTED:card]`, `[REDACTED:secret]`.
 *
 * @module
 */
import { createHmac } from "node:crypto";

/** Shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;

const IPV4_TEXT = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)/g;
/** Maximal runs of hex digits, colons and dots holding at least two colons. */
const IPV6_RUN = /[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/g;
const EMAIL = /[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const CARD = /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g;
const SECRET_KV =
  /\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?token|session[_-]?id)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&"',;]+)/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;
const AWS_KEY = /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g;
const JWT = /\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}/g;
/** User names in free text: "user alice", "user=alice", "for [invalid user] alice from". */
const NAME = String.raw`[\w-]+(?:\.[\w-]+)*`;
const USER_IN_TEXT = [
  new RegExp(String.raw`\b(for (?:invalid user |illegal user )?)(${NAME})( from )`, "g"),
  new RegExp(String.raw`\b(user[= ])(${NAME})()`, "gi"),
  new RegExp(String.raw`\b(logname=|ruser=|USER=)(${NAME})()`, "g"),
  new RegExp(String.raw`^(\()(${NAME})(\) CMD )`, "g"),
];

/** Whether `digits` (only 0-9) passes the Luhn checksum. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Parses an IPv4 address in dotted-quad form; returns it canonical or null.
 *
 * @example
 * ```ts
 * canonicalIpv4("010.0.0.1"); // null (leading zeros are ambiguous)
 * canonicalIpv4("10.0.0.1"); // "10.0.0.1"
 * ```
 */
export function canonicalIpv4(text: string): string | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0") || Number(p) > 255) return null;
  }
  return text;
}

/**
 * Parses an IPv6 address (RFC 4291 text forms, `::` compression, embedded IPv4 tail) and
 * returns its RFC 5952 canonical form, or null when it is not an address.
 *
 * @example
 * ```ts
 * canonicalIpv6("2001:DB8:0:0:0:0:0:1"); // "2001:db8::1"
 * ```
 */
export function canonicalIpv6(text: string): string | null {
  if (!text.includes(":")) return null;
  let head = text;
  const groups: number[] = [];
  const lastColon = head.lastIndexOf(":");
  const tail = head.slice(lastColon + 1);
  let v4: number[] | null = null;
  if (tail.includes(".")) {
    if (canonicalIpv4(tail) === null) return null;
    v4 = tail.split(".").map(Number);
    head = head.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0]);
  const right = halves.length === 2 ? parse(halves[1]) : [];
  if (left === null || right === null) return null;
  if (halves.length === 1) {
    if (left.length !== 8) return null;
    groups.push(...left);
  } else {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return null;
    groups.push(...left, ...new Array(missing).fill(0), ...right);
  }
  if (v4) {
    groups[6] = (v4[0] << 8) | v4[1];
    groups[7] = (v4[2] << 8) | v4[3];
  }
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Returns the canonical form of an IPv4 or IPv6 address, or null. */
export function canonicalIp(text: string): string | null {
  return canonicalIpv4(text) ?? canonicalIpv6(text);
}

/**
 * Pseudonymises addresses and user names with a keyed HMAC and redacts sensitive free
 * text. Tokens are cached (bounded) because logs repeat the same addresses a lot.
 *
 * @example
 * ```ts
 * const anon = new Anonymiser("a-secret-of-16-bytes-or-more");
 * anon.ip("10.0.0.1");          // "ip_3f9a..." (same secret + input = same token)
 * anon.text("mail bob@x.org");  // "mail [REDACTED:email]"
 * ```
 */
export class Anonymiser {
  #key: Uint8Array;
  #cache = new Map<string, string>();
  #cacheLimit: number;

  constructor(secret: string | Uint8Array, options: { cacheLimit?: number } = {}) {
    this.#key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
    if (this.#key.length < MIN_SECRET_BYTES) {
      throw new RangeError(
        `anonymisation secret: expected at least ${MIN_SECRET_BYTES} bytes, got ${this.#key.length}`,
      );
    }
    this.#cacheLimit = options.cacheLimit ?? 50_000;
  }

  #token(kind: "ip" | "user", value: string): string {
    const cacheKey = `${kind}:${value}`;
    let token = this.#cache.get(cacheKey);
    if (token === undefined) {
      const mac = createHmac("sha256", this.#key).update(cacheKey).digest("hex");
      token = `${kind}_${mac.slice(0, 16)}`;
      if (this.#cache.size >= this.#cacheLimit) this.#cache.clear();
      this.#cache.set(cacheKey, token);
    }
    return token;
  }

  /** Pseudonym of an IP address (canonicalised first), or null if `text` is not one. */
  ip(text: string): string | null {
    const canonical = canonicalIp(text.trim());
    return canonical === null ? null : this.#token("ip", canonical);
  }

  /** Finds the longest IPv6 address inside a run like `:fe80::1:` and pseudonymises it. */
  #ipv6InRun(run: string): string {
    const cuts = [0];
    for (let i = 0; i < run.length; i++) if (run[i] === ":" || run[i] === ".") cuts.push(i, i + 1);
    cuts.push(run.length);
    let best: [number, number, string] | null = null;
    for (const start of cuts) {
      for (const end of cuts) {
        if (end - start < 2 || (best && end - start <= best[1] - best[0])) continue;
        const canonical = canonicalIpv6(run.slice(start, end));
        if (canonical !== null && /[0-9A-Fa-f]/.test(run.slice(start, end))) {
          best = [start, end, canonical];
        }
      }
    }
    if (!best) return run;
    return run.slice(0, best[0]) + this.#token("ip", best[2]) + run.slice(best[1]);
  }

  /** Pseudonym of a user name (case kept: user names are case-sensitive on most systems). */
  user(name: string): string {
    return this.#token("user", name);
  }

  /**
   * Redacts emails, card numbers and secrets, then pseudonymises every IP address and
   * every user name found by the known patterns. Returns the text and the first user
   * name seen (raw), so a parser can fill `user.name`.
   */
  scrub(text: string): { text: string; user?: string } {
    let out = text;
    if (out.includes("@") || out.includes("%40")) out = out.replace(EMAIL, "[REDACTED:email]");
    out = out.replace(SECRET_KV, (_m, k, sep) => `${k}${sep}[REDACTED:secret]`);
    out = out.replace(BEARER, (_m, scheme) => `${scheme} [REDACTED:secret]`);
    out = out.replace(AWS_KEY, "[REDACTED:secret]").replace(JWT, "[REDACTED:secret]");
    out = out.replace(CARD, (m) => luhnValid(m.replace(/[ -]/g, "")) ? "[REDACTED:card]" : m);
    if (out.includes(":")) out = out.replace(IPV6_RUN, (run) => this.#ipv6InRun(run));
    out = out.replace(IPV4_TEXT, (m) => this.ip(m) ?? m);
    let user: string | undefined;
    for (const pattern of USER_IN_TEXT) {
      out = out.replace(pattern, (m, pre: string, name: string, post = "") => {
        if (name.startsWith("user_") || name.startsWith("ip_") || name.startsWith("[")) return m;
        user ??= name;
        return `${pre}${this.user(name)}${post}`;
      });
    }
    return user === undefined ? { text: out } : { text: out, user };
  }

  /** {@linkcode scrub} without the user name: just the safe text. */
  text(text: string): string {
    return this.scrub(text).text;
  }
}
