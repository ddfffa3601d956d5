/**
 * The lab's small ACL format, one policy per key, and the policy-file format the master
 * loads.
 *
 * A policy body is rules, one per line, first match wins (`#` starts a comment):
 *
 * ```
 * allow tcp from 10.0.0.0/8 to 10.0.1.10 port 443
 * allow udp from any to 10.0.1.53 port 53
 * deny any from any to any
 * ```
 *
 * `<allow|deny> <tcp|udp|icmp|any> from <addr> to <addr> [port <n>|<n-m>]` where an addr is
 * `any`, an IPv4 address or an IPv4 CIDR; `port` only with tcp or udp. A policy has 1 to
 * {@link MAX_RULES} rules. Keys are `/acl/<segment>/.../<name>` (letters, digits, `._-`).
 *
 * A policy file holds sections: a `[key]` line, then that policy's rules up to the next
 * section. A policy directory is every `*.acl` file below it, in that same format.
 *
 * @module
 */

/** Most rules in one policy. */
export const MAX_RULES = 1000;
/** Largest policy body in bytes. */
export const MAX_POLICY_BYTES = 64 * 1024;

/** One parsed rule. */
export interface Rule {
  action: "allow" | "deny";
  proto: "tcp" | "udp" | "icmp" | "any";
  from: string;
  to: string;
  /** `[lo, hi]`, or undefined for any port. */
  ports?: [number, number];
}

/** A policy that parsed, or why it did not. */
export type PolicyResult = { ok: true; rules: Rule[] } | { ok: false; error: string };

const KEY_RE = /^\/acl(\/[A-Za-z0-9_.-]+)+$/;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;

/**
 * Whether `key` is a policy key (`/acl/...`, at most 255 bytes); returns an error text or
 * undefined.
 *
 * @example
 * ```ts
 * import { checkKey } from "./acl.ts";
 * checkKey("/acl/dmz/web"); // undefined
 * checkKey("web"); // "key: expected /acl/<segment>/..., got \"web\""
 * ```
 */
export function checkKey(key: string): string | undefined {
  if (key.length <= 255 && KEY_RE.test(key)) return undefined;
  return `key: expected /acl/<segment>/..., got ${JSON.stringify(key.slice(0, 64))}`;
}

function checkAddr(text: string): string | undefined {
  if (text === "any") return undefined;
  const m = IPV4_RE.exec(text);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] && Number(m[5]) > 32)) {
    return `expected any, an IPv4 address or CIDR, got ${JSON.stringify(text)}`;
  }
  return undefined;
}

function parsePorts(text: string): [number, number] | string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo < 1 || hi > 65535 || lo > hi) {
    return `expected a port 1..65535 or a range lo-hi, got ${JSON.stringify(text)}`;
  }
  return [lo, hi];
}

/**
 * Parses and checks a whole policy body; the result is all rules or one error naming the
 * line (a policy is used whole or not at all).
 *
 * @example
 * ```ts
 * import { parsePolicy } from "./acl.ts";
 * parsePolicy("allow tcp from any to 10.0.0.1 port 443\ndeny any from any to any");
 * // { ok: true, rules: [...2 rules] }
 * parsePolicy("permit everything").ok; // false
 * ```
 */
export function parsePolicy(body: string): PolicyResult {
  if (body.length > MAX_POLICY_BYTES) {
    return { ok: false, error: `expected at most ${MAX_POLICY_BYTES} bytes, got ${body.length}` };
  }
  const rules: Rule[] = [];
  const lines = body.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].replace(/#.*/, "").trim();
    if (text === "") continue;
    const rule = parseRule(text.split(/\s+/));
    if (typeof rule === "string") return { ok: false, error: `line ${i + 1}: ${rule}` };
    rules.push(rule);
    if (rules.length > MAX_RULES) {
      return { ok: false, error: `expected at most ${MAX_RULES} rules, got more` };
    }
  }
  if (rules.length === 0) return { ok: false, error: "expected at least one rule, got none" };
  return { ok: true, rules };
}

function parseRule(w: string[]): Rule | string {
  const shape = "<allow|deny> <tcp|udp|icmp|any> from <addr> to <addr> [port <n|lo-hi>]";
  if ((w.length !== 6 && w.length !== 8) || w[2] !== "from" || w[4] !== "to") {
    return `expected ${shape}, got ${JSON.stringify(w.join(" ").slice(0, 80))}`;
  }
  const [action, proto, , from, , to] = w;
  if (action !== "allow" && action !== "deny") {
    return `expected allow or deny, got ${JSON.stringify(action)}`;
  }
  if (proto !== "tcp" && proto !== "udp" && proto !== "icmp" && proto !== "any") {
    return `expected tcp, udp, icmp or any, got ${JSON.stringify(proto)}`;
  }
  const bad = checkAddr(from) ?? checkAddr(to);
  if (bad) return bad;
  const rule: Rule = { action, proto, from, to };
  if (w.length === 8) {
    if (w[6] !== "port") return `expected port after the addresses, got ${JSON.stringify(w[6])}`;
    if (proto !== "tcp" && proto !== "udp") {
      return `expected port only with tcp or udp, got ${proto}`;
    }
    const ports = parsePorts(w[7]);
    if (typeof ports === "string") return ports;
    rule.ports = ports;
  }
  return rule;
}

/**
 * A rule as one line of text (the canonical form).
 *
 * @example
 * ```ts
 * import { formatRule } from "./acl.ts";
 * formatRule({ action: "deny", proto: "any", from: "any", to: "any" }); // "deny any from any to any"
 * ```
 */
export function formatRule(rule: Rule): string {
  const ports = rule.ports
    ? ` port ${rule.ports[0] === rule.ports[1] ? rule.ports[0] : rule.ports.join("-")}`
    : "";
  return `${rule.action} ${rule.proto} from ${rule.from} to ${rule.to}${ports}`;
}

/** One policy as loaded from a file. */
export interface PolicySource {
  key: string;
  body: string;
}

/**
 * Parses a policy file (`[key]` sections); throws an Error naming the file and line of
 * the first problem (a bad key, a bad rule, a duplicate key, rules before any section).
 *
 * @example
 * ```ts
 * import { parsePolicyFile } from "./acl.ts";
 * parsePolicyFile("[/acl/dmz/web]\nallow tcp from any to any port 443\n", "x.acl");
 * // [{ key: "/acl/dmz/web", body: "allow tcp from any to any port 443" }]
 * ```
 */
export function parsePolicyFile(text: string, name: string): PolicySource[] {
  const out: PolicySource[] = [];
  let current: { key: string; line: number; lines: string[] } | undefined;
  const finish = () => {
    if (!current) return;
    const body = current.lines.join("\n").trim();
    const parsed = parsePolicy(body);
    if (!parsed.ok) {
      throw new Error(`${name}: policy ${current.key} (line ${current.line}): ${parsed.error}`);
    }
    out.push({ key: current.key, body });
  };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      finish();
      const bad = checkKey(section[1]);
      if (bad) throw new Error(`${name}:${i + 1}: ${bad}`);
      if (out.some((p) => p.key === section[1])) {
        throw new Error(`${name}:${i + 1}: duplicate policy ${section[1]}`);
      }
      current = { key: section[1], line: i + 1, lines: [] };
    } else if (current) {
      current.lines.push(lines[i]);
    } else if (line.replace(/#.*/, "") !== "") {
      throw new Error(
        `${name}:${i + 1}: expected a [/acl/...] section first, got ${
          JSON.stringify(line.slice(0, 60))
        }`,
      );
    }
  }
  finish();
  return out;
}

/**
 * Loads policies from a policy file or from every `*.acl` file below a directory (sorted
 * by path); throws an Error naming the first problem, including a key defined twice.
 *
 * @example
 * ```ts
 * import { loadPolicies } from "./acl.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/dmz.acl`, "[/acl/dmz/web]\ndeny any from any to any\n");
 * loadPolicies(dir).length; // 1
 * ```
 */
export function loadPolicies(path: string): PolicySource[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    const entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(full);
      else if (entry.isFile && entry.name.endsWith(".acl")) files.push(full);
    }
  };
  if (Deno.statSync(path).isDirectory) walk(path);
  else files.push(path);
  const out: PolicySource[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    for (const policy of parsePolicyFile(Deno.readTextFileSync(file), file)) {
      const first = seen.get(policy.key);
      if (first) throw new Error(`${file}: policy ${policy.key} is also defined in ${first}`);
      seen.set(policy.key, file);
      out.push(policy);
    }
  }
  return out;
}
