/**
 * `deno task labNN:images` (= `deno run -A lib/tooling/container_image.ts NN [--tag T]`):
 * builds a lab's container image offline, `FROM scratch`. No registry can be reached here,
 * so the image holds only what a role needs and this machine already has:
 *
 * - `/usr/bin/deno` (this very binary) and every library `ldd` lists for it and for
 *   libzmq (the `zeromq` addon in `node_modules`), at the paths `ldd` names;
 * - `/app`: `deno.json`, `deno.lock`, `lib/`, the lab's folder, every workspace member's
 *   `deno.json` (the workspace must resolve) and the prepared `node_modules` (run with
 *   `--cached-only`: nothing is fetched at run time);
 * - `/tmp` (1777), `/deno-dir` (`DENO_DIR`, for Deno's transpile cache) and an
 *   `/etc/nsswitch.conf` so service names resolve through Docker's DNS.
 *
 * The context is assembled in `dist/images/labNN/` with sorted entries and fixed
 * modification times, so the same inputs give the same layer digest (reproducible; the
 * image's creation time is the only thing that differs between two builds).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadManifest, REPO_ROOT } from "./manifest.ts";
import { parseToolArgs } from "./tool_args.ts";

/** The image tag of a lab. */
export function imageTag(labId: string): string {
  return `zmq-labs/lab${labId}:latest`;
}

/** Where the libraries ldd lists for `file` live (absolute paths, the loader included). */
export async function sharedLibraries(file: string): Promise<string[]> {
  const out = await new Deno.Command("ldd", { args: [file], stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`ldd ${file} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const libs = new Set<string>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]);
  }
  return [...libs].sort();
}

async function copyTree(from: string, to: string, skip: (name: string) => boolean = () => false) {
  await Deno.mkdir(to, { recursive: true });
  const entries = [];
  for await (const e of Deno.readDir(from)) entries.push(e);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (skip(e.name)) continue;
    const src = `${from}/${e.name}`;
    const dst = `${to}/${e.name}`;
    if (e.isSymlink) {
      await Deno.symlink(await Deno.readLink(src), dst);
    } else if (e.isDirectory) {
      await copyTree(src, dst, skip);
    } else {
      await Deno.copyFile(src, dst);
    }
  }
}

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  const status = await new Deno.Command(cmd, { args, cwd, stdout: "inherit", stderr: "inherit" })
    .spawn().status;
  if (!status.success) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${status.code})`);
}

/** What a build made. */
export interface ImageBuild {
  tag: string;
  context: string;
  /** Bytes in the build context. */
  contextBytes: number;
  buildMs: number;
}

/**
 * Assembles the context of a lab's image and runs `docker build` on it.
 *
 * @example
 * ```ts
 * import { buildLabImage } from "@lib/tooling/container_image.ts";
 * const build = await buildLabImage("10");
 * console.log(build.tag); // "zmq-labs/lab10:latest"
 * ```
 */
export async function buildLabImage(labId: string, tag = imageTag(labId)): Promise<ImageBuild> {
  const started = performance.now();
  const lab = await loadManifest(labId);
  const context = `${REPO_ROOT}/dist/images/lab${lab.id}`;
  await Deno.remove(context, { recursive: true }).catch(() => {});
  const rootfs = `${context}/rootfs`;
  const app = `${rootfs}/app`;
  await Deno.mkdir(app, { recursive: true });

  // The runtime and its libraries.
  const deno = Deno.execPath();
  const addon = await findAddon();
  await Deno.mkdir(`${rootfs}/usr/bin`, { recursive: true });
  await Deno.copyFile(deno, `${rootfs}/usr/bin/deno`);
  const libs = new Set([...await sharedLibraries(deno), ...await sharedLibraries(addon)]);
  for (const lib of [...libs].sort()) {
    const dst = `${rootfs}${lib}`;
    await Deno.mkdir(dst.slice(0, dst.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(await Deno.realPath(lib), dst);
  }
  for (const dir of ["tmp", "deno-dir", "etc"]) await Deno.mkdir(`${rootfs}/${dir}`);
  await Deno.chmod(`${rootfs}/tmp`, 0o1777);
  await Deno.chmod(`${rootfs}/deno-dir`, 0o1777);
  await Deno.writeTextFile(`${rootfs}/etc/nsswitch.conf`, "hosts: files dns\n");
  await Deno.writeTextFile(`${rootfs}/etc/passwd`, "root:x:0:0:root:/app:/usr/bin/deno\n");

  // The sources: the workspace skeleton, lib/, the lab, node_modules.
  for (const f of ["deno.json", "deno.lock"]) {
    await Deno.copyFile(`${REPO_ROOT}/${f}`, `${app}/${f}`);
  }
  const skip = (name: string) => name.endsWith("_test.ts") || name === "testdata";
  await copyTree(`${REPO_ROOT}/lib`, `${app}/lib`, skip);
  for await (const e of Deno.readDir(`${REPO_ROOT}/labs`)) {
    if (!e.isDirectory) continue;
    if (e.name === lab.folder) continue;
    await Deno.mkdir(`${app}/labs/${e.name}`, { recursive: true });
    await Deno.copyFile(`${REPO_ROOT}/labs/${e.name}/deno.json`, `${app}/labs/${e.name}/deno.json`)
      .catch(() => {});
  }
  await copyTree(lab.dir, `${app}/labs/${lab.folder}`, (n) => skip(n) || n === "dist");
  await copyTree(`${REPO_ROOT}/node_modules`, `${app}/node_modules`);

  // Fixed times: the same inputs give the same layer.
  let contextBytes = 0;
  const stamp = new Date("2026-01-01T00:00:00Z");
  const touch = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isSymlink) continue;
      if (e.isDirectory) await touch(p);
      else contextBytes += (await Deno.stat(p)).size;
      await Deno.utime(p, stamp, stamp);
    }
  };
  await touch(rootfs);

  await Deno.writeTextFile(
    `${context}/Dockerfile`,
    [
      "FROM scratch",
      "LABEL org.zmq-labs.lab=" + lab.id,
      "COPY rootfs/ /",
      "ENV PATH=/usr/bin DENO_DIR=/deno-dir DENO_NO_UPDATE_CHECK=1 LOG_FORMAT=json NO_COLOR=1",
      "WORKDIR /app",
      'ENTRYPOINT ["/usr/bin/deno"]',
      "",
    ].join("\n"),
  );
  await run("docker", ["build", "--quiet", "-t", tag, context]);
  // The image this tag had before is now dangling: remove ours only (by label).
  await new Deno.Command("docker", {
    args: ["image", "prune", "-f", "--filter", `label=org.zmq-labs.lab=${lab.id}`],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => {});
  return { tag, context, contextBytes, buildMs: Math.round(performance.now() - started) };
}

/** The libzmq the roles load: the zeromq addon variant lib/zmq picks on this glibc. */
async function findAddon(): Promise<string> {
  const base = `${REPO_ROOT}/node_modules/zeromq/build/linux/x64/node`;
  for (const variant of ["glibc-127-Release", "glibc-147-Release", "glibc-115-Release"]) {
    const path = `${base}/${variant}/addon.node`;
    try {
      await Deno.stat(path);
      return await Deno.realPath(path);
    } catch {
      // try the next
    }
  }
  throw new Error(`no zeromq addon under ${base}: run \`deno install\` first`);
}

if (import.meta.main) {
  const usage = "usage: deno run -A lib/tooling/container_image.ts NN [--tag name:tag]";
  const { values, positionals } = parseToolArgs("container_image", usage, (args) =>
    parseArgs({
      args,
      options: { tag: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    }));
  if (values.help || positionals.length !== 1) {
    console.log(usage);
    Deno.exit(values.help ? 0 : 2);
  }
  try {
    const build = await buildLabImage(positionals[0], values.tag);
    const size = await new Deno.Command("docker", {
      args: ["image", "inspect", "-f", "{{.Size}}", build.tag],
      stdout: "piped",
    }).output();
    console.log(
      `container_image: ${build.tag} built in ${build.buildMs} ms, context ${
        (build.contextBytes / 1e6).toFixed(1)
      } MB, image ${(Number(new TextDecoder().decode(size.stdout).trim()) / 1e6).toFixed(1)} MB`,
    );
  } catch (error) {
    console.error(`container_image: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
