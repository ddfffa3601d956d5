/**
 * Runs a lab's `docker-compose.yml` (docker-compose v1, the one Debian packages) for a
 * one-shot scenario: `deno run -A lib/tooling/compose.ts NN --run <service> [--show
 * <service>]` builds the lab's image (see `container_image.ts`), starts every other service
 * detached (health checks gate `depends_on`), runs `<service>` to completion in the
 * foreground, prints the last lines of `--show`'s log, and always tears everything down
 * (containers, networks, volumes). The exit code is the run service's.
 *
 * {@linkcode ComposeProject} is the same thing as a library, for tests.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { buildLabImage } from "./container_image.ts";
import { loadManifest, REPO_ROOT } from "./manifest.ts";
import { parseToolArgs } from "./tool_args.ts";

/** Output of one docker/docker-compose command. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Why Docker cannot be used here, or null when `docker info` answers.
 *
 * @example
 * ```ts
 * import { dockerProblem } from "@lib/tooling/compose.ts";
 * const why = await dockerProblem();
 * if (why) console.error(`no docker: ${why}`);
 * ```
 */
export async function dockerProblem(): Promise<string | null> {
  for (const tool of ["docker", "docker-compose"]) {
    try {
      const out = await new Deno.Command(tool, {
        args: tool === "docker"
          ? ["info", "--format", "{{.ServerVersion}}"]
          : ["version", "--short"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        return `${tool} does not work: ${
          new TextDecoder().decode(out.stderr).trim().split("\n")[0]
        }`;
      }
    } catch {
      return `${tool} is not installed`;
    }
  }
  return null;
}

/** One compose project (a unique name keeps parallel runs apart). */
export class ComposeProject {
  readonly file: string;
  readonly project: string;
  readonly env: Record<string, string>;

  /**
   * @example
   * ```ts
   * import { ComposeProject } from "@lib/tooling/compose.ts";
   * const soc = new ComposeProject("labs/10-soc/docker-compose.yml", "zmqlabs10test");
   * await soc.down();
   * ```
   */
  constructor(file: string, project: string, env: Record<string, string> = {}) {
    this.file = file.startsWith("/") ? file : `${REPO_ROOT}/${file}`;
    this.project = project;
    this.env = env;
  }

  /** Runs `docker-compose -p P -f F <args>`, collecting its output. */
  async compose(args: string[], options: { inherit?: boolean } = {}): Promise<CommandOutput> {
    const cmd = new Deno.Command("docker-compose", {
      args: ["--ansi", "never", "-p", this.project, "-f", this.file, ...args],
      env: { ...this.env, COMPOSE_INTERACTIVE_NO_CLI: "1" },
      stdin: "null",
      stdout: options.inherit ? "inherit" : "piped",
      stderr: options.inherit ? "inherit" : "piped",
    });
    if (options.inherit) {
      const status = await cmd.spawn().status;
      return { code: status.code, stdout: "", stderr: "" };
    }
    const out = await cmd.output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  }

  /** Like {@linkcode compose}, but throws (with its output) unless it exits 0. */
  async must(args: string[]): Promise<string> {
    const out = await this.compose(args);
    if (out.code !== 0) {
      throw new Error(
        `docker-compose ${args.join(" ")} failed (exit ${out.code}):\n${out.stderr}${out.stdout}`,
      );
    }
    return out.stdout;
  }

  /** `up -d` the given services (their dependencies too, gated by health checks). */
  async up(services: string[]): Promise<void> {
    await this.must(["up", "-d", "--no-build", ...services]);
  }

  /** The container id of a service. */
  async containerId(service: string): Promise<string> {
    const id = (await this.must(["ps", "-q", service])).trim();
    if (!id) throw new Error(`service ${service} has no container`);
    return id;
  }

  /** `docker inspect -f <format>` of a service's container. */
  async inspect(service: string, format: string): Promise<string> {
    const out = await new Deno.Command("docker", {
      args: ["inspect", "-f", format, await this.containerId(service)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  }

  /** A service's logs so far. */
  async logs(service: string): Promise<string> {
    return (await this.compose(["logs", "--no-color", "--timestamps", service])).stdout;
  }

  /** Runs a command in a service's running container. */
  async exec(service: string, command: string[]): Promise<CommandOutput> {
    return await this.compose(["exec", "-T", service, ...command]);
  }

  /** Removes containers, networks and volumes of the project (idempotent). */
  async down(): Promise<void> {
    await this.compose(["down", "-v", "--remove-orphans", "--timeout", "10"]);
  }

  /** Names of the project's leftover containers, networks and volumes (empty after down). */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const kind of ["container", "network", "volume"]) {
      const args = kind === "container"
        ? ["ps", "-a", "--filter", `label=com.docker.compose.project=${this.project}`, "-q"]
        : [kind, "ls", "--filter", `label=com.docker.compose.project=${this.project}`, "-q"];
      const r = await new Deno.Command("docker", { args, stdout: "piped", stderr: "null" })
        .output();
      out.push(
        ...new TextDecoder().decode(r.stdout).split("\n").filter(Boolean).map((x) =>
          `${kind} ${x}`
        ),
      );
    }
    return out;
  }
}

if (import.meta.main) {
  const usage =
    "usage: deno run -A lib/tooling/compose.ts NN --run SERVICE [--show SERVICE] [--no-build]";
  const { values, positionals } = parseToolArgs("compose", usage, (args) =>
    parseArgs({
      args,
      options: {
        run: { type: "string" },
        show: { type: "string" },
        "no-build": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    }));
  if (values.help || positionals.length !== 1 || !values.run) {
    console.log(usage);
    Deno.exit(values.help ? 0 : 2);
  }
  const problem = await dockerProblem();
  if (problem) {
    console.error(`compose: ${problem} (start dockerd as ../shared/recipes.md shows)`);
    Deno.exit(1);
  }
  const lab = await loadManifest(positionals[0]);
  if (!values["no-build"]) {
    const build = await buildLabImage(lab.id);
    console.log(`compose: image ${build.tag} built in ${build.buildMs} ms`);
  }
  const project = new ComposeProject(`${lab.dir}/docker-compose.yml`, `zmqlabs${lab.id}`);
  let code = 1;
  const stop = () => {}; // docker-compose gets the terminal's Ctrl+C itself; we tear down after
  Deno.addSignalListener("SIGINT", stop);
  try {
    const services = (await project.must(["config", "--services"])).split("\n").filter(Boolean);
    const others = services.filter((s) => s !== values.run);
    console.log(`compose: starting ${others.join(", ")} (waits for their health checks)`);
    await project.up(others);
    console.log(`compose: running ${values.run}`);
    code = (await project.compose(["run", "--rm", values.run], { inherit: true })).code;
    if (values.show) {
      console.log(`compose: last lines of ${values.show}:`);
      console.log((await project.logs(values.show)).split("\n").slice(-25).join("\n"));
    }
  } catch (error) {
    console.error(`compose: ${(error as Error).message}`);
  } finally {
    console.log("compose: tearing down (containers, networks, volumes)");
    await project.down();
    Deno.removeSignalListener("SIGINT", stop);
  }
  Deno.exit(code);
}
