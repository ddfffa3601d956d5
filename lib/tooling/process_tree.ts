/**
 * Signals a process and, on Linux, every descendant of it (found through /proc), so that
 * killing `deno test` or a role also ends the processes they started.
 *
 * @example
 * ```ts
 * import { killTree } from "@lib/tooling/process_tree.ts";
 *
 * const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
 * killTree(child.pid, "SIGKILL");
 * ```
 *
 * @module
 */
export function killTree(pid: number, signal: Deno.Signal = "SIGKILL"): void {
  // Collect the tree first, then kill top-down, so no parent can react to (or replace) a
  // child that died before it.
  const targets = [pid, ...descendants(pid).reverse()];
  for (const target of targets) {
    try {
      Deno.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

/** Descendant pids of `pid`, deepest first (empty where /proc is not available). */
function descendants(pid: number): number[] {
  if (Deno.build.os !== "linux") return [];
  const children = new Map<number, number[]>();
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        // pid (comm) state ppid ...; comm may contain spaces and parentheses.
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const list = children.get(ppid) ?? [];
        list.push(Number(entry.name));
        children.set(ppid, list);
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    return [];
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const c of children.get(p) ?? []) {
      visit(c);
      out.push(c);
    }
  };
  visit(pid);
  return out;
}
