// A tiny non-ZeroMQ "role" for the lab runner tests: prints its permissions and a tick every
// 50 ms; on SIGTERM/SIGINT prints "stopping" and exits 0 (or --stop-code C). Flags: --name N,
// --exit-after MS --code C (exit on its own), --ignore-term (keeps running after SIGTERM),
// --touch PATH (writes PATH at start and prints it with LAB_RUN_DIR).
// Like the role runtime under the lab runner (ROLE_STOP_ON_STDIN_EOF=1), end of stdin is a
// stop request; with --eof-marker it also writes $LAB_RUN_DIR/<name>.eof then.
const args = Deno.args;
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const name = opt("--name") ?? "ticker";
// Output may go to a runner that is gone (SIGKILL test): a broken pipe must not end us.
const out = (line: string) => {
  try {
    console.log(line);
  } catch {
    // no reader any more
  }
};
const err = (line: string) => {
  try {
    console.error(line);
  } catch {
    // no reader any more
  }
};
const state = (p: Deno.PermissionDescriptor) => Deno.permissions.querySync(p).state;
out(
  `${name} started env=${state({ name: "env" })} net=${state({ name: "net" })} ` +
    `LOG_FORMAT=${Deno.env.get("LOG_FORMAT")}`,
);
const touch = opt("--touch");
if (touch) {
  Deno.writeTextFileSync(touch, name);
  out(`${name} touched ${touch} LAB_RUN_DIR=${Deno.env.get("LAB_RUN_DIR")}`);
}
let tick = 0;
const timer = setInterval(() => out(`${name} tick ${++tick}`), 50);
// Like a role: the first SIGINT/SIGTERM stops it (exit 0 after a short flush), a second
// signal exits 130 at once.
let stopping = false;
const stop = (why: string) => {
  if (args.includes("--ignore-term")) {
    err(`${name} ignores ${why}`);
    return;
  }
  if (stopping) {
    err(`${name} second signal ${why}: exit 130`);
    Deno.exit(130);
  }
  stopping = true;
  err(`${name} stopping`);
  err(`${name} got ${why}`);
  clearInterval(timer);
  setTimeout(() => Deno.exit(Number(opt("--stop-code") ?? 0)), 300);
};
Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
if (Deno.env.get("ROLE_STOP_ON_STDIN_EOF") === "1") {
  (async () => {
    for await (const _ of Deno.stdin.readable) {
      // control input is not used here: only its end matters
    }
    if (args.includes("--eof-marker")) {
      Deno.writeTextFileSync(`${Deno.env.get("LAB_RUN_DIR")}/${name}.eof`, "eof");
    }
    stop("stdin EOF");
  })();
}
const exitAfter = opt("--exit-after");
if (exitAfter) {
  setTimeout(() => {
    err(`${name} exits by itself`);
    Deno.exit(Number(opt("--code") ?? 0));
  }, Number(exitAfter));
}
