/**
 * The Prometheus text exposition format 0.0.4: a writer for the broker's `/metrics` and a
 * parser that follows the format's grammar (used by `client_app watch` and the tests).
 *
 * Grammar (one item per line, `\n` separated):
 * - `# HELP <name> <docstring>` (docstring escapes `\\` and `\n`),
 * - `# TYPE <name> counter|gauge|histogram|summary|untyped`, at most once per name and
 *   before that family's first sample,
 * - other `#` lines are comments; blank lines are ignored,
 * - `<name>[{<label>="<value>",...}] <value> [<timestamp ms>]`, names
 *   `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`, label values escape
 *   `\\`, `\"` and `\n`; values are Go floats (`NaN`, `+Inf`, `-Inf` included).
 *
 * The parser also checks what a scraper relies on: a histogram's `_bucket` series carry
 * `le`, are cumulative (non-decreasing with `le`), end with `le="+Inf"` equal to `_count`;
 * counters are >= 0; no series appears twice.
 *
 * @module
 */

/** The metric types of the format. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

/** A metric family: its TYPE, HELP and samples. */
export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

/** A parse error with its line number. */
export class PrometheusParseError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "PrometheusParseError";
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Formats a number as the format wants it (`+Inf`, `-Inf`, `NaN`). */
export function formatValue(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/**
 * Builds an exposition text family by family.
 *
 * @example
 * ```ts
 * import { MetricsWriter, parsePrometheusText } from "./prometheus_text.ts";
 * const w = new MetricsWriter();
 * w.family("jobs_total", "counter", "Jobs done.", [{ labels: { kind: "a" }, value: 3 }]);
 * parsePrometheusText(w.text())[0].samples[0].value; // 3
 * ```
 */
export class MetricsWriter {
  #lines: string[] = [];

  /** Adds one family; `samples` may name a suffix (`_bucket`, `_sum`, `_count`). */
  family(
    name: string,
    type: MetricType,
    help: string,
    samples: { suffix?: string; labels?: Record<string, string>; value: number }[],
  ): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const s of samples) {
      const labels = Object.entries(s.labels ?? {});
      const l = labels.length === 0
        ? ""
        : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
      this.#lines.push(`${name}${s.suffix ?? ""}${l} ${formatValue(s.value)}`);
    }
  }

  /** The exposition text (ends with a newline). */
  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

function parseFloatStrict(text: string, line: number): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    throw new PrometheusParseError(line, `expected a float value, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at `at` (the `{`); returns labels and the index after `}`. */
function parseLabels(
  s: string,
  at: number,
  line: number,
): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = at + 1;
  for (;;) {
    while (s[i] === " ") i++;
    if (s[i] === "}") return [labels, i + 1];
    let j = i;
    while (j < s.length && /[a-zA-Z0-9_]/.test(s[j])) j++;
    const name = s.slice(i, j);
    if (!LABEL.test(name)) {
      throw new PrometheusParseError(
        line,
        `expected a label name at column ${i + 1}, got ${JSON.stringify(s.slice(i, i + 10))}`,
      );
    }
    if (name in labels) throw new PrometheusParseError(line, `label ${name} given twice`);
    i = j;
    while (s[i] === " ") i++;
    if (s[i] !== "=" || s[i + 1] !== '"') {
      throw new PrometheusParseError(line, `expected =" after label ${name}`);
    }
    i += 2;
    let value = "";
    for (;;) {
      if (i >= s.length) {
        throw new PrometheusParseError(line, `unterminated value of label ${name}`);
      }
      const c = s[i];
      if (c === '"') break;
      if (c === "\\") {
        const n = s[i + 1];
        if (n === "\\") value += "\\";
        else if (n === '"') value += '"';
        else if (n === "n") value += "\n";
        else throw new PrometheusParseError(line, `bad escape \\${n ?? ""} in label ${name}`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++; // closing quote
    while (s[i] === " ") i++;
    if (s[i] === ",") i++;
    else if (s[i] !== "}") {
      throw new PrometheusParseError(line, `expected , or } after label ${name}`);
    }
  }
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === "histogram" || (f.type === "summary" && suffix !== "_bucket"))) return f;
    }
  }
  return undefined;
}

function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}_bucket without le`);
      g.buckets.push([parseFloatStrict(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) g.count = s.value;
  }
  for (const [key, g] of groups) {
    g.buckets.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < g.buckets.length; i++) {
      if (g.buckets[i][1] < g.buckets[i - 1][1]) {
        throw new Error(`histogram ${f.name} ${key}: buckets not cumulative`);
      }
    }
    const last = g.buckets.at(-1);
    if (!last || last[0] !== Infinity) {
      throw new Error(`histogram ${f.name} ${key}: no le="+Inf" bucket`);
    }
    if (g.count !== last[1]) {
      throw new Error(`histogram ${f.name} ${key}: _count ${g.count} != +Inf bucket ${last[1]}`);
    }
  }
}

/**
 * Parses and checks an exposition text; throws `PrometheusParseError` (or Error for a
 * family-level inconsistency) naming what was expected and what was found.
 *
 * @example
 * ```ts
 * import { parsePrometheusText } from "./prometheus_text.ts";
 * const [f] = parsePrometheusText('# TYPE up gauge\nup{job="x"} 1\n');
 * console.log(f.name, f.type, f.samples[0].labels.job); // up gauge x
 * ```
 */
export function parsePrometheusText(text: string): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const seen = new Set<string>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, index) => {
    const n = index + 1;
    const s = raw.replace(/\s+$/, "");
    if (s.trim() === "") return;
    if (s.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(s);
      if (!m) return; // a comment
      const [, kind, name, rest = ""] = m;
      if (!NAME.test(name)) {
        throw new PrometheusParseError(n, `bad metric name ${JSON.stringify(name)}`);
      }
      let f = families.get(name);
      if (kind === "TYPE") {
        if (!TYPES.has(rest.trim())) {
          throw new PrometheusParseError(
            n,
            `expected counter|gauge|histogram|summary|untyped, got ${JSON.stringify(rest)}`,
          );
        }
        if (f && f.samples.length > 0) {
          throw new PrometheusParseError(n, `TYPE of ${name} after its samples`);
        }
        if (f && f.type !== "untyped") throw new PrometheusParseError(n, `second TYPE for ${name}`);
        if (!f) families.set(name, f = { name, type: "untyped", help: "", samples: [] });
        f.type = rest.trim() as MetricType;
      } else {
        if (!f) families.set(name, f = { name, type: "untyped", help: "", samples: [] });
        f.help = rest.replace(/\\(\\|n)/g, (_, c) => (c === "n" ? "\n" : "\\"));
      }
      return;
    }
    let i = 0;
    while (i < s.length && /[a-zA-Z0-9_:]/.test(s[i])) i++;
    const name = s.slice(0, i);
    if (!NAME.test(name)) {
      throw new PrometheusParseError(
        n,
        `expected a metric name, got ${JSON.stringify(s.slice(0, 20))}`,
      );
    }
    let labels: Record<string, string> = {};
    if (s[i] === "{") [labels, i] = parseLabels(s, i, n);
    const rest = s.slice(i).trim().split(/\s+/);
    if (s[i] !== " " && s[i] !== "\t") {
      throw new PrometheusParseError(n, "expected a space before the value");
    }
    if (rest.length < 1 || rest.length > 2 || rest[0] === "") {
      throw new PrometheusParseError(
        n,
        `expected "value [timestamp]", got ${JSON.stringify(s.slice(i))}`,
      );
    }
    const value = parseFloatStrict(rest[0], n);
    let timestampMs: number | undefined;
    if (rest.length === 2) {
      if (!/^-?\d+$/.test(rest[1])) {
        throw new PrometheusParseError(n, `expected an integer timestamp, got ${rest[1]}`);
      }
      timestampMs = Number(rest[1]);
    }
    let f = familyOf(name, families);
    if (!f) families.set(name, f = { name, type: "untyped", help: "", samples: [] });
    if (f.type === "counter" && !(value >= 0)) {
      throw new PrometheusParseError(n, `counter ${name} is ${rest[0]}`);
    }
    const series = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(series)) throw new PrometheusParseError(n, `series ${series} given twice`);
    seen.add(series);
    f.samples.push({ name, labels, value, ...(timestampMs === undefined ? {} : { timestampMs }) });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return [...families.values()];
}
