// A tiny non-ZeroMQ "role" for the lab runner tests: prints its permissions and a tick every
// 50 ms; on SIGTERM/SIGINT prints "stopping" and exits 0. Flags: --name N, --exit-after MS
// --code C (exit on its own), --ignore-term (keeps running after SIGTERM).
const args = Deno.args;
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const name = opt("--name") ?? "ticker";
const state = (p: Deno.PermissionDescriptor) => Deno.permissions.querySync(p).state;
console.log(
  `${name} started env=${state({ name: "env" })} net=${state({ name: "net" })} ` +
    `LOG_FORMAT=${Deno.env.get("LOG_FORMAT")}`,
);
let tick = 0;
const timer = setInterval(() => console.log(`${name} tick ${++tick}`), 50);
// Like a role: the first SIGINT/SIGTERM stops it (exit 0 after a short flush), a second
// signal exits 130 at once.
let stopping = false;
const onSignal = (signal: string) => () => {
  if (args.includes("--ignore-term")) {
    console.error(`${name} ignores ${signal}`);
    return;
  }
  if (stopping) {
    console.error(`${name} second signal ${signal}: exit 130`);
    Deno.exit(130);
  }
  stopping = true;
  console.error(`${name} stopping`);
  console.error(`${name} got ${signal}`);
  clearInterval(timer);
  setTimeout(() => Deno.exit(0), 300);
};
Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
const exitAfter = opt("--exit-after");
if (exitAfter) {
  setTimeout(() => {
    console.error(`${name} exits by itself`);
    Deno.exit(Number(opt("--code") ?? 0));
  }, Number(exitAfter));
}
