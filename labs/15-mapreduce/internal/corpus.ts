/**
 * Reproducible input corpora for the demo, the tests and the benchmark: text documents
 * (words drawn from a Zipf-like distribution, as natural text is) for `wordcount` and
 * `invindex`, and Lab 02 stored records (NDJSON, the shape `storage_writer` writes) for
 * `logstats`. A seed gives the same bytes on every run. `poison` adds one record that a map
 * function cannot read (invalid UTF-8 / not JSON) to the first file.
 *
 * @module
 */

import { seededRandom } from "@lib/random/mod.ts";
import type { EcsRecord } from "../../02-log-pipeline/internal/record.ts";
import type { JobName } from "./jobs.ts";

/** Options of {@linkcode generateCorpus}. */
export interface CorpusOptions {
  /** Which job the corpus is for (`logstats` gets log records, the others text). */
  job: JobName;
  /** About this many bytes in all. */
  bytes: number;
  /** Number of files (default 4). */
  files?: number;
  seed?: number;
  /** Add one poisoned record to the first file. */
  poison?: boolean;
}

const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "zo", "vi", "shu", "pe", "an", "or", "el"];
const COMMON = [
  "the",
  "of",
  "and",
  "to",
  "a",
  "in",
  "is",
  "that",
  "zeromq",
  "socket",
  "message",
  "worker",
  "broker",
  "map",
  "reduce",
  "über",
  "naïve",
  "don't",
];

/** The invalid UTF-8 record the corpus adds with `poison` (a map task skips it). */
export const POISON_TEXT = new Uint8Array([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0x20, 0x78]);
/** The poisoned log record (not JSON). */
export const POISON_LOG = "<13>Oct 11 22:14:15 not-a-stored-record";

/**
 * Writes the corpus into `dir` (created if missing); returns the file paths, sorted.
 *
 * @example
 * ```ts
 * import { generateCorpus } from "./corpus.ts";
 * const files = await generateCorpus("/tmp/corpus", { job: "wordcount", bytes: 100_000 });
 * ```
 */
export async function generateCorpus(dir: string, options: CorpusOptions): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const random = seededRandom(options.seed ?? 15);
  const n = options.files ?? 4;
  const per = Math.max(1, Math.ceil(options.bytes / n));
  const vocabulary = makeVocabulary(random, 5000);
  const paths: string[] = [];
  const encoder = new TextEncoder();
  for (let f = 0; f < n; f++) {
    const ext = options.job === "logstats" ? "ndjson" : "txt";
    const path = `${dir}/${options.job === "logstats" ? "records" : "doc"}-${
      String(f).padStart(3, "0")
    }.${ext}`;
    const lines: string[] = [];
    let size = 0;
    let i = 0;
    while (size < per) {
      const line = options.job === "logstats"
        ? logRecord(random, f, i)
        : textLine(random, vocabulary);
      lines.push(line);
      size += line.length + 1;
      i++;
    }
    let data = encoder.encode(lines.join("\n") + "\n");
    if (options.poison && f === 0) {
      const poison = options.job === "logstats" ? encoder.encode(POISON_LOG + "\n") : (
        new Uint8Array([...POISON_TEXT, 10])
      );
      // In the middle of the file: a split boundary does not save anyone from it.
      const at = data.indexOf(10, Math.floor(data.length / 2)) + 1;
      const out = new Uint8Array(data.length + poison.length);
      out.set(data.subarray(0, at));
      out.set(poison, at);
      out.set(data.subarray(at), at + poison.length);
      data = out;
    }
    await Deno.writeFile(path, data);
    paths.push(path);
  }
  return paths;
}

function makeVocabulary(random: () => number, size: number): string[] {
  const words = new Set<string>(COMMON);
  while (words.size < size) {
    let w = "";
    const k = 1 + Math.floor(random() * 4);
    for (let i = 0; i < k; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(w);
  }
  return [...words];
}

function textLine(random: () => number, vocabulary: string[]): string {
  const n = 4 + Math.floor(random() * 12);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    // Zipf-like: index ~ size^u, skewed to the front.
    const index = Math.floor(Math.pow(vocabulary.length, random())) - 1;
    let w = vocabulary[index];
    if (random() < 0.1) w = w[0].toUpperCase() + w.slice(1);
    out.push(w);
  }
  return out.join(" ") + (random() < 0.3 ? "." : "");
}

const DATASETS = ["syslog", "nginx.access", "json"] as const;
const LEVELS = ["info", "info", "info", "notice", "warning", "err", "debug"];
const URLS = ["/", "/api/v1/orders", "/api/v1/users/42", "/login", "/static/app.js", "/health"];
const STATUS = [200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 500, 502, 503];

function logRecord(random: () => number, file: number, i: number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const dataset = pick(DATASETS);
  const t = new Date(Date.UTC(2026, 10, 26, 8) + i * 250 + file * 3_600_000).toISOString();
  const ip = `ip_${Math.floor(random() * 40).toString(16).padStart(8, "0")}`;
  const record: EcsRecord = {
    "@timestamp": t,
    event: { id: `run${file}-${i >> 6}-${i & 63}`, dataset, ingested: t },
    log: {
      format: dataset === "nginx.access" ? "combined" : dataset === "json" ? "json" : "rfc5424",
    },
  };
  if (dataset === "nginx.access") {
    const status = pick(STATUS);
    record.source = { ip };
    record.http = {
      version: "1.1",
      request: { method: pick(["GET", "GET", "POST"]) },
      response: { status_code: status, body: { bytes: Math.floor(random() * 50_000) } },
    };
    record.url = { original: pick(URLS) + (random() < 0.1 ? "?token=[REDACTED]" : "") };
  } else {
    record.log.level = pick(LEVELS);
    record.host = { name: pick(["web-01", "web-02", "db-primary", "bastion"]) };
    if (random() < 0.3) {
      record.process = { name: "sshd", pid: 1000 + Math.floor(random() * 9000) };
      record.source = { ip };
      record.message = random() < 0.6
        ? `Failed password for invalid user user_${ip.slice(3)} from ${ip} port 22 ssh2`
        : `Accepted publickey for user_${ip.slice(3)} from ${ip} port 22 ssh2`;
    } else {
      record.message = `Started Session ${Math.floor(random() * 9999)} of User user_x.`;
    }
  }
  return JSON.stringify(record);
}

/** Input files of `paths` (files as given, directories expanded, sorted), with their sizes. */
export async function listInputs(paths: readonly string[]): Promise<
  { path: string; size: number }[]
> {
  const out: { path: string; size: number }[] = [];
  for (const p of paths) {
    const info = await Deno.stat(p);
    if (info.isDirectory) {
      const names: string[] = [];
      for await (const entry of Deno.readDir(p)) {
        if (entry.isFile && !entry.name.startsWith(".")) names.push(entry.name);
      }
      for (const name of names.sort()) {
        out.push({ path: `${p}/${name}`, size: (await Deno.stat(`${p}/${name}`)).size });
      }
    } else out.push({ path: p, size: info.size });
  }
  return out;
}
