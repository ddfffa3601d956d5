// Finds the `deno task ...` commands in markdown (code blocks and inline code) and says how
// to check each one quickly. Used by docs_commands_test.ts.

/** One command as written in a document. */
export interface DocCommand {
  file: string;
  line: number;
  /** The command as written (without a trailing `# comment`). */
  text: string;
  /** Leading `VAR=value` assignments. */
  env: Record<string, string>;
  /** The task name, e.g. `lab03:cli`. */
  task: string;
  /** The arguments after the task name, unquoted. */
  args: string[];
}

/** How a command is checked. */
export type Plan =
  | { kind: "skip"; why: string }
  /** Run `deno task <task> <args>`; it must exit 0 (within the time limit). */
  | { kind: "run"; args: string[]; why: string }
  /**
   * A role: `--help` appended must exit 0, and the command as written must not be refused
   * as a usage error (exit 2) before its `started` event.
   */
  | { kind: "role"; args: string[] };

/** Splits a command line like a POSIX shell would for simple words and quotes. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in ${text}`);
      word += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new Error(`unterminated " in ${text}`);
      word += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === " " || c === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Removes a trailing ` # comment` that is outside quotes. */
function stripComment(text: string): string {
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || text[i - 1] === " ")) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

function parse(file: string, line: number, raw: string): DocCommand | undefined {
  // A shell line may chain or pipe: only the `deno task` part is the documented command.
  const text = stripComment(raw).split(/ (?:\||&&|;) /)[0].trim();
  const match = /^((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)deno task (\S+)(.*)$/.exec(text);
  if (!match) return undefined;
  const env: Record<string, string> = {};
  for (const assignment of match[1].trim().split(/\s+/).filter(Boolean)) {
    const eq = assignment.indexOf("=");
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return { file, line, text, env, task: match[2], args: shellWords(match[3].trim()) };
}

/** Every `deno task` command of a markdown text, with its line number. */
export function extractCommands(file: string, markdown: string): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = markdown.split("\n");
  let inBlock = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) {
      let text = line.trim();
      let last = i;
      while (text.endsWith("\\") && last + 1 < lines.length) {
        last++;
        text = text.slice(0, -1).trimEnd() + " " + lines[last].trim();
      }
      const command = parse(file, i + 1, text.replace(/^\$\s+/, ""));
      if (command) out.push(command);
      i = last;
      continue;
    }
    for (const span of line.matchAll(/`([^`]+)`/g)) {
      const command = parse(file, i + 1, span[1]);
      if (command) out.push(command);
    }
  }
  return out;
}

/** `<file>`, `[opts]`, `...`, `ARGS`, globs, and shell variables a previous line sets (`"$UUID"`). */
const PLACEHOLDER = /<[^>]*>|\[[^\]]*\]|\.\.\.|…|\bARGS\b|\*|\$[A-Za-z_{]/;

/** How to check `command` quickly, given the root deno.json tasks. */
export function planFor(command: DocCommand, tasks: Record<string, unknown>): Plan {
  const { task, args } = command;
  if (PLACEHOLDER.test(command.text)) {
    return { kind: "skip", why: "a synopsis with placeholders, not a command to paste" };
  }
  if (!(task in tasks)) return { kind: "run", args, why: "no such task: must fail" };
  const definition = tasks[task] as { command?: string } | string;
  const line = typeof definition === "string" ? definition : definition?.command ?? "";
  if (/^lab\d\d:/.test(task) && line.includes("lib/tooling/")) {
    // A lab's extra task (an image build, a compose run): long, so its usage only.
    return { kind: "run", args: [...args, "--help"], why: "the usage (the real run is long)" };
  }
  if (/^lab\d\d:/.test(task)) return { kind: "role", args };
  if (/^lab\d\d$/.test(task)) {
    const rest = [...args];
    const at = rest.indexOf("--duration");
    if (at >= 0) rest.splice(at, 2);
    return { kind: "run", args: [...rest, "--duration", "3s"], why: "the demo, for 3 s" };
  }
  if (/^test:lab\d\d$/.test(task)) {
    return { kind: "run", args: [...args, "--no-run"], why: "type-checks the lab's tests" };
  }
  switch (task) {
    case "test":
    case "new":
      return { kind: "run", args: [...args, "--help"], why: "the usage (the real run is long)" };
    case "bench":
      return { kind: "run", args: [...args, "--list"], why: "lists the benchmarks" };
    case "bench:zmq":
      return { kind: "run", args: [...args, "--quick"], why: "small counts, once" };
    case "build":
      return { kind: "run", args: [...args, "--dry-run"], why: "the compile commands" };
    case "sync":
      return { kind: "run", args: [...args.filter((a) => a !== "--check"), "--check"], why: "" };
    case "check":
      return { kind: "skip", why: "checks the whole repository (.ci/run runs it)" };
    default:
      return { kind: "run", args, why: "" };
  }
}
