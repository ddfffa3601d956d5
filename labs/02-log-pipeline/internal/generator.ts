/**
 * Realistic mixed log traffic for `log_collector --generate N`, tests and the benchmark:
 * RFC 5424 and RFC 3164 syslog (sshd, sudo, cron, kernel, app events), nginx combined
 * access logs and JSON lines, with IPv4/IPv6 clients, user names, emails, card numbers and
 * secrets in free text, and a share of malformed lines. All randomness comes from the
 * injected `random` function, so a seed reproduces the exact traffic.
 *
 * @module
 */

import { seededRandom } from "@lib/random/mod.ts";
import { delay } from "@lib/async/mod.ts";

import type { InputLine } from "./line_source.ts";

/** Options for {@linkcode LogGenerator}. */
export interface GeneratorOptions {
  /** Uniform [0, 1) source; inject a seeded one for reproducible traffic. */
  random: () => number;
  /** Time of the first line (ms since the epoch). */
  start?: number;
  /** Share of malformed lines, 0..1 (default 0.02). */
  malformedRatio?: number;
}

const USERS = [
  "alice.martin",
  "bob_nguyen",
  "carol.okafor",
  "dmitri.volkov",
  "eve.schneider",
  "farid.haddad",
  "grace.hopper42",
  "hiro.tanaka",
  "ines.duarte",
  "jkowalski",
  "svc_backup",
  "deploybot7",
];
const HOSTS = ["web-01", "web-02", "db-primary", "cache-3", "bastion", "worker-eu-7"];
const PATHS = [
  "/",
  "/index.html",
  "/api/v1/orders",
  "/api/v1/users/42",
  "/static/app.js",
  "/login",
  "/health",
];
const AGENTS = [
  "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
  "curl/8.5.0",
  "Prometheus/2.53.0",
  "python-requests/2.32.3",
];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009", "6011000990139424"];

/**
 * Generates log lines one at a time.
 *
 * @example
 * ```ts
 * const gen = new LogGenerator({ random: seededRandom(7) });
 * const lines = Array.from({ length: 10 }, () => gen.next());
 * ```
 */
export class LogGenerator {
  #random: () => number;
  #t: number;
  #malformed: number;
  /** Every IPv4/IPv6 client address the generator can emit. */
  readonly addresses: readonly string[];
  /** Every user name the generator can emit. */
  readonly users: readonly string[] = USERS;

  constructor(options: GeneratorOptions) {
    this.#random = options.random;
    this.#t = options.start ?? Date.UTC(2026, 10, 26, 8, 0, 0);
    this.#malformed = options.malformedRatio ?? 0.02;
    const r = seededRandom(Math.floor(this.#random() * 2 ** 32));
    const addrs: string[] = [];
    for (let i = 0; i < 48; i++) {
      const octet = () => 1 + Math.floor(r() * 254);
      addrs.push(`${[10, 172, 192, 203, 198][i % 5]}.${octet()}.${octet()}.${octet()}`);
    }
    for (let i = 0; i < 16; i++) {
      const g = () => Math.floor(r() * 0xffff).toString(16);
      addrs.push(i % 2 ? `2001:db8:${g()}:${g()}::${g()}` : `fe80::${g()}:${g()}:${g()}:${g()}`);
    }
    this.addresses = addrs;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)];
  }

  #int(min: number, max: number): number {
    return min + Math.floor(this.#random() * (max - min + 1));
  }

  /** The next line (no trailing newline). */
  next(): string {
    this.#t += this.#int(0, 40);
    const roll = this.#random();
    if (roll < this.#malformed) return this.#malformedLine();
    const kind = this.#random();
    if (kind < 0.3) return this.#combined();
    if (kind < 0.55) return this.#rfc5424();
    if (kind < 0.8) return this.#rfc3164();
    return this.#json();
  }

  #message(): { text: string; app: string } {
    const ip = this.#pick(this.addresses);
    const user = this.#pick(this.users);
    switch (this.#int(0, 9)) {
      case 0:
        return {
          app: "sshd",
          text: `Failed password for invalid user ${user} from ${ip} port ${
            this.#int(1024, 65535)
          } ssh2`,
        };
      case 1:
        return {
          app: "sshd",
          text: `Accepted publickey for ${user} from ${ip} port ${this.#int(1024, 65535)} ssh2`,
        };
      case 2:
        return {
          app: "sudo",
          text: `pam_unix(sudo:session): session opened for user ${user} by (uid=0)`,
        };
      case 3:
        return {
          app: "app",
          text: `payment declined card=${this.#pick(CARDS)} customer=${
            user.replace(/[._]/g, "")
          }@example.com`,
        };
      case 4:
        return { app: "app", text: `login ok user=${user} src=${ip} token=${this.#hex(24)}` };
      case 5:
        return {
          app: "nginx",
          text: `upstream timed out (110) while connecting to upstream, client: ${ip}`,
        };
      case 6:
        return {
          app: "kernel",
          text: `[UFW BLOCK] IN=eth0 OUT= SRC=${ip} DST=10.0.0.5 PROTO=TCP DPT=${
            this.#int(1, 1024)
          }`,
        };
      case 7:
        return { app: "CRON", text: `(${user}) CMD (/usr/local/bin/backup.sh --quiet)` };
      case 8:
        return {
          app: "app",
          text: `request completed in ${this.#int(1, 900)} ms, Authorization: Bearer ${
            this.#hex(32)
          }`,
        };
      default:
        return { app: "systemd", text: `Started Session ${this.#int(1, 9999)} of User ${user}.` };
    }
  }

  #hex(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[this.#int(0, 15)];
    return s;
  }

  #combined(): string {
    const d = new Date(this.#t);
    const p2 = (n: number) => String(n).padStart(2, "0");
    const ts = `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${
      p2(d.getUTCHours())
    }:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
    const user = this.#random() < 0.2 ? this.#pick(this.users) : "-";
    const method = this.#pick(["GET", "GET", "GET", "POST", "PUT", "DELETE"]);
    const path = this.#pick(PATHS) +
      (this.#random() < 0.1
        ? `?email=${this.#pick(this.users)}%40example.com&token=${this.#hex(16)}`
        : "");
    const status = this.#pick([200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 500, 502]);
    const ref = this.#random() < 0.5 ? "-" : `https://shop.example.com${this.#pick(PATHS)}`;
    return `${
      this.#pick(this.addresses)
    } - ${user} [${ts}] "${method} ${path} HTTP/1.1" ${status} ${this.#int(0, 50_000)} "${ref}" "${
      this.#pick(AGENTS)
    }"`;
  }

  #rfc5424(): string {
    const { text, app } = this.#message();
    const pri = this.#int(0, 23) * 8 + this.#int(0, 7);
    const ts = new Date(this.#t).toISOString();
    const sd = this.#random() < 0.3
      ? `[origin ip="${this.#pick(this.addresses)}" software="rsyslogd"][meta sequenceId="${
        this.#int(1, 1e6)
      }"]`
      : "-";
    const msgid = this.#pick(["-", "ID47", "AUTH", "TXN"]);
    return `<${pri}>1 ${ts} ${this.#pick(HOSTS)} ${app} ${
      this.#int(100, 65000)
    } ${msgid} ${sd} ${text}`;
  }

  #rfc3164(): string {
    const { text, app } = this.#message();
    const d = new Date(this.#t);
    const p2 = (n: number) => String(n).padStart(2, "0");
    const ts = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${
      p2(d.getUTCHours())
    }:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
    const pri = this.#int(0, 23) * 8 + this.#int(0, 7);
    return `<${pri}>${ts} ${this.#pick(HOSTS)} ${app}[${this.#int(100, 65000)}]: ${text}`;
  }

  #json(): string {
    const { text } = this.#message();
    const obj: Record<string, unknown> = {
      time: new Date(this.#t).toISOString(),
      level: this.#pick(["info", "info", "warn", "error", "debug"]),
      msg: text,
      service: this.#pick(["checkout", "auth", "search"]),
      client_ip: this.#pick(this.addresses),
      http: { status: this.#pick([200, 404, 500]), duration_ms: this.#int(1, 2000) },
    };
    if (this.#random() < 0.5) obj.user = this.#pick(this.users);
    return JSON.stringify(obj);
  }

  #malformedLine(): string {
    const ip = this.#pick(this.addresses);
    switch (this.#int(0, 3)) {
      case 0:
        return `<999>Oct 11 22:14:15 ${ip} bad priority`;
      case 1:
        return `{"msg": "truncated json from ${ip}", "level": `;
      case 2:
        return `${ip} - - [99/Foo/2026:25:61:00 +0000] "GET / HTTP/1.1" 200 12`;
      default:
        return `%% garbage line from ${ip} %%`;
    }
  }
}

/** Options for {@linkcode generateLines}. */
export interface GenerateOptions {
  count: number;
  random: () => number;
  malformedRatio?: number;
  /** Lines per second (0 = as fast as the consumer takes them). */
  rate?: number;
  signal?: AbortSignal;
}

/**
 * `count` generated lines as collector input, optionally paced at `rate` lines/s (a
 * consumer that was held back by backpressure gets the missed lines at once).
 *
 * @example
 * ```ts
 * for await (const { line } of generateLines({ count: 3, random: seededRandom(1) })) {}
 * ```
 */
export async function* generateLines(options: GenerateOptions): AsyncGenerator<InputLine> {
  const gen = new LogGenerator({ random: options.random, malformedRatio: options.malformedRatio });
  const rate = options.rate ?? 0;
  const started = performance.now();
  for (let i = 0; i < options.count && !options.signal?.aborted; i++) {
    if (rate > 0) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 1) await delay(wait, { signal: options.signal });
    }
    yield { line: gen.next() };
  }
}
