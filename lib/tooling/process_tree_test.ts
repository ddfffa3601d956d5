import assert from "node:assert/strict";
import { killTree } from "./process_tree.ts";

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

Deno.test({
  name: "killTree ends a process and the processes it started",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const child = new Deno.Command("bash", {
      args: ["-c", "sleep 60 & echo $!; wait"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) text += (await reader.read()).value ?? "";
    const grandchild = Number(text.trim());
    assert.ok(alive(grandchild));
    killTree(child.pid, "SIGKILL");
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    const deadline = Date.now() + 5000;
    while (alive(grandchild) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!alive(grandchild), "the grandchild survived");
    await reader.cancel();
  },
});
