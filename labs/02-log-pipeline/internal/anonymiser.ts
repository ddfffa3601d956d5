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
 * Lines are untrusted, so the work is linear in the text's length: emails and IPv6
 * addresses are found by hand-written scanners, every regular expression has bounded
 * quantifiers (no start position can cost more than a constant), and a step budget per
 * call ({@linkcode ScrubBudgetError}) stops anything that would still run away.
 *
 * @module
 */
import { createHmac } from "node:crypto";

/** Shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;

const IPV4_TEXT = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)/g;
const CARD = /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g;
// Bounded quantifiers everywhere: a start position costs at most a constant.
const SECRET_KV =
  /\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?token|session[_-]?id)(\s{0,8}[=:]\s{0,8})("[^"]{0,1024}"|'[^']{0,1024}'|[^\s&"',;]{1,1024})/gi;
const BEARER = /\b(Bearer|Basic)\s{1,8}[A-Za-z0-9._~+/=-]{8,1024}/g;
const AWS_KEY = /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g;
// Only one start per run of token characters (not after "-"): linear, not quadratic.
const JWT = /(?<![\w-])eyJ[\w-]{5,4096}\.[\w-]{5,4096}\.[\w-]{5,4096}/g;
/** User names in free text (bounded: 64 characters per dot-separated part, 8 parts). */
const NAME = String.raw`[\w-]{1,64}(?:\.[\w-]{1,64}){0,8}`;
const USER_IN_TEXT = [
  new RegExp(String.raw`\b(for (?:invalid user |illegal user )?)(${NAME})( from | on )`, "g"),
  new RegExp(String.raw`\b(user[= ])(${NAME})()`, "gi"),
  new RegExp(String.raw`\b(logname=|ruser=|USER=)(${NAME})()`, "g"),
  new RegExp(String.raw`^(\()(${NAME})(\) CMD )`, "g"),
  // RFC 3164/5424's own example: "'su root' failed for lonvick on /dev/pts/8".
  new RegExp(String.raw`(\bsu (?:- )?)(${NAME})('|\s|$)`, "g"),
  // sudo: "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=..."
  new RegExp(String.raw`^(\s{0,8})(${NAME})( : (?:TTY|PWD|USER|COMMAND)=)`, "g"),
  new RegExp(String.raw`(/home/)(${NAME})()`, "g"),
];

/** Steps a scrub may take per character of its input (plus a constant). */
const STEPS_PER_CHAR = 64;
const STEPS_BASE = 4096;
/** Longest IPv6 text form: 6 groups + an IPv4 tail ("ffff:...:255.255.255.255"). */
const MAX_IPV6_CHARS = 45;

/**
 * Thrown when scrubbing a text took more than its step budget (a pathological line):
 * the line is dead-lettered with this reason instead of holding a parser.
 */
export class ScrubBudgetError extends Error {
  override name = "ScrubBudgetError";
  constructor(readonly chars: number, readonly budget: number) {
    super(
      `anonymisation budget exceeded: expected at most ${budget} steps for ${chars} characters, got more`,
    );
  }
}

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
  #stepsPerChar: number;
  #stepsBase: number;

  constructor(
    secret: string | Uint8Array,
    options: { cacheLimit?: number; stepsPerChar?: number; stepsBase?: number } = {},
  ) {
    this.#key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
    if (this.#key.length < MIN_SECRET_BYTES) {
      throw new RangeError(
        `anonymisation secret: expected at least ${MIN_SECRET_BYTES} bytes, got ${this.#key.length}`,
      );
    }
    this.#cacheLimit = options.cacheLimit ?? 50_000;
    this.#stepsPerChar = options.stepsPerChar ?? STEPS_PER_CHAR;
    this.#stepsBase = options.stepsBase ?? STEPS_BASE;
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

  /** Pseudonym of a user name (case kept: user names are case-sensitive on most systems). */
  user(name: string): string {
    return this.#token("user", name);
  }

  /**
   * Redacts emails, card numbers and secrets, then pseudonymises every IP address and
   * every user name found by the known patterns. Returns the text and the first user
   * name seen (raw), so a parser can fill `user.name`. Linear in the text's length;
   * throws {@linkcode ScrubBudgetError} past its step budget.
   */
  scrub(text: string): { text: string; user?: string } {
    const limit = this.#stepsBase + this.#stepsPerChar * text.length;
    let left = limit;
    const spend = (steps: number) => {
      left -= steps;
      if (left < 0) throw new ScrubBudgetError(text.length, limit);
    };
    let out = text;
    if (out.includes("@") || out.includes("%40")) out = redactEmails(out, spend);
    out = out.replace(SECRET_KV, (_m, k, sep) => `${k}${sep}[REDACTED:secret]`);
    out = out.replace(BEARER, (_m, scheme) => `${scheme} [REDACTED:secret]`);
    out = out.replace(AWS_KEY, "[REDACTED:secret]").replace(JWT, "[REDACTED:secret]");
    out = out.replace(CARD, (m) => luhnValid(m.replace(/[ -]/g, "")) ? "[REDACTED:card]" : m);
    if (out.includes(":")) {
      out = replaceIpv6Runs(out, spend, (canonical) => this.#token("ip", canonical));
    }
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

const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number) => isAlpha(c) || (c >= 48 && c <= 57);
/** Email local part: `[A-Za-z0-9._%+-]`. */
const isLocal = (c: number) =>
  isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
/** Email domain: `[A-Za-z0-9.-]`. */
const isDomain = (c: number) => isAlnum(c) || c === 46 || c === 45;

/**
 * Where an email's domain starting at `from` ends (exclusive), or -1: the longest prefix
 * of the `[A-Za-z0-9.-]` run that reads `label(.label)*.tld` with a TLD of 2+ letters
 * (a TLD may be followed by more characters, as the old pattern allowed: `a@b.com1`).
 */
function domainEnd(text: string, from: number, spend: (n: number) => void): number {
  let end = from;
  while (end < text.length && isDomain(text.charCodeAt(end))) end++;
  spend(end - from);
  // Labels are split by "."; every label before the TLD must be non-empty.
  let best = -1;
  let labelStart = from;
  let labels = 0;
  for (let i = from; i <= end; i++) {
    if (i < end && text.charCodeAt(i) !== 46) continue;
    if (i === labelStart) break; // an empty label ends the domain
    if (labels >= 1) {
      let letters = 0;
      while (labelStart + letters < i && isAlpha(text.charCodeAt(labelStart + letters))) letters++;
      if (letters >= 2) best = labelStart + letters;
    }
    labels++;
    labelStart = i + 1;
  }
  return best;
}

/** Replaces `local@domain.tld` (also `%40`-encoded) by `[REDACTED:email]`, in one pass. */
function redactEmails(text: string, spend: (n: number) => void): string {
  let out = "";
  let copied = 0;
  let runStart = 0; // start of the current run of local-part characters
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let sep = 0;
    if (c === 64) sep = 1;
    else if (c === 37 && text.charCodeAt(i + 1) === 52 && text.charCodeAt(i + 2) === 48) sep = 3;
    if (sep > 0) {
      const start = Math.max(runStart, copied);
      const end = start < i ? domainEnd(text, i + sep, spend) : -1;
      if (end > 0) {
        out += text.slice(copied, start) + "[REDACTED:email]";
        copied = end;
        i = end - 1;
        runStart = end;
        continue;
      }
    }
    if (!isLocal(c)) runStart = i + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** `[0-9A-Fa-f:.]` */
const isV6Char = (c: number) => isHex(c) || c === 58 || c === 46;

/**
 * Finds maximal runs of hex digits, colons and dots holding at least two colons and
 * replaces, left to right, the longest IPv6 address starting at each cut (a run edge or
 * next to a ":" or "."). A candidate can only extend as far as an address could (at most
 * 45 characters, 8 colons, one "::", groups of 4), so each start costs a bounded number
 * of steps: a run of 4,000 colons is linear, not 4,000³ as before.
 */
function replaceIpv6Runs(
  text: string,
  spend: (n: number) => void,
  token: (canonical: string) => string,
): string {
  let out = "";
  let copied = 0;
  for (let i = 0; i < text.length;) {
    if (!isV6Char(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let end = i;
    let colons = 0;
    while (end < text.length && isV6Char(text.charCodeAt(end))) {
      if (text.charCodeAt(end) === 58) colons++;
      end++;
    }
    spend(end - i);
    if (colons >= 2) {
      for (let start = i; start < end - 1;) {
        let found = isCut(text, i, end, start) ? ipv6At(text, i, end, start, spend) : null;
        if (!found) {
          start++;
          continue;
        }
        // "::fe80::1" holds "::fe80" and "fe80::1": a start a colon or two later may
        // reach further; take the longest reach.
        let at = start;
        const compressed = text.charCodeAt(start) === 58; // found starts with "::"
        for (
          let later = start + 1;
          compressed && later <= start + 2 && later < found.end;
          later++
        ) {
          const other = isCut(text, i, end, later) ? ipv6At(text, i, end, later, spend) : null;
          if (other && other.end > found.end) [found, at] = [other, later];
        }
        out += text.slice(copied, at) + token(found.canonical);
        copied = start = found.end;
      }
    }
    i = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Whether position `i` of the run [from, to) may start or end an address. */
function isCut(text: string, from: number, to: number, i: number): boolean {
  if (i === from || i === to) return true;
  const before = text.charCodeAt(i - 1), at = text.charCodeAt(i);
  return before === 58 || before === 46 || at === 58 || at === 46;
}

/** How far an address starting at `start` could reach: no candidate is longer. */
function ipv6Reach(text: string, start: number, to: number): number {
  let colons = 0, doubles = 0, dots = 0, group = 0;
  const limit = Math.min(to, start + MAX_IPV6_CHARS);
  for (let i = start; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) {
      if (dots > 0) return i; // the IPv4 tail comes last
      colons++;
      if (i > start && text.charCodeAt(i - 1) === 58) doubles++;
      if (
        colons > 8 || doubles > 1 ||
        (i > start + 1 && text.charCodeAt(i - 2) === 58 && text.charCodeAt(i - 1) === 58)
      ) {
        return i;
      }
      group = 0;
    } else if (c === 46) {
      if (++dots > 3) return i;
      group = 0;
    } else if (++group > 4) {
      return i;
    }
  }
  return limit;
}

/** The longest IPv6 address starting at `start` and ending at a cut, or null. */
function ipv6At(
  text: string,
  from: number,
  to: number,
  start: number,
  spend: (n: number) => void,
): { end: number; canonical: string } | null {
  // An address starts with a hex digit or "::" (never ":x" or "."), and ends with a hex
  // digit or "::": most cut points are rejected before any parsing.
  const first = text.charCodeAt(start);
  if (first === 46 || (first === 58 && text.charCodeAt(start + 1) !== 58)) return null;
  const reach = ipv6Reach(text, start, to);
  spend(reach - start + 1);
  for (let end = reach; end - start >= 2; end--) {
    if (!isCut(text, from, to, end)) continue;
    const last = text.charCodeAt(end - 1);
    if (last === 46 || (last === 58 && text.charCodeAt(end - 2) !== 58)) continue;
    spend(end - start);
    const candidate = text.slice(start, end);
    if (!/[0-9A-Fa-f]/.test(candidate)) continue;
    const canonical = canonicalIpv6(candidate);
    if (canonical !== null) return { end, canonical };
  }
  return null;
}
