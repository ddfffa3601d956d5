/**
 * Lab 19 in containers, as the course runs it: keygen provisions the certificates into
 * volumes (each container mounts only what it needs), then secure_server and
 * secure_client talk CURVE on an internal network. Without a working Docker engine this
 * test FAILS (ZMQ_LABS_SKIP_DOCKER=1 skips it on purpose).
 */
import assert from "node:assert/strict";
import { buildLabImage } from "@lib/tooling/container_image.ts";
import { ComposeProject, dockerProblem } from "@lib/tooling/compose.ts";

const skip = Deno.env.get("ZMQ_LABS_SKIP_DOCKER") === "1";
if (skip) console.error("ZMQ_LABS_SKIP_DOCKER=1: the docker-compose test of Lab 19 is SKIPPED");

const KEYGEN = [
  "run",
  "--cached-only",
  "--allow-ffi",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "labs/19-native-ironhouse/cmd/keygen.ts",
];

Deno.test({
  name:
    "docker-compose: keygen provisions volumes, the client streams over CURVE, an unknown key is refused; nothing is left",
  ignore: skip,
  async fn(t) {
    const problem = await dockerProblem();
    assert.equal(problem, null, `Docker is required for Lab 19's compose test: ${problem}`);
    const project = new ComposeProject(
      "labs/19-native-ironhouse/docker-compose.yml",
      `zmqlabs19t${crypto.randomUUID().slice(0, 8)}`,
      { READINGS: "25" },
    );
    try {
      await t.step("docker-compose config is valid; the image builds offline", async () => {
        await project.must(["config", "-q"]);
        await buildLabImage("19");
      });
      await t.step("the trusted client receives its readings over CURVE", async () => {
        const run = await project.compose(["run", "--rm", "-T", "secure-client"]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const readings = run.stdout.split("\n").filter((l) => l.startsWith("{"));
        assert.equal(readings.length, 25, run.stdout);
        assert.doesNotMatch(run.stderr, /secret-key/);
      });
      await t.step("certificates on the volumes: secret files 0600, pairs valid", async () => {
        for (const service of ["keygen-server", "keygen-client"]) {
          const check = await project.compose([
            "run",
            "--rm",
            "-T",
            service,
            ...KEYGEN,
            "check",
            "/keys",
          ]);
          assert.equal(check.code, 0, `${service}: ${check.stdout}${check.stderr}`);
        }
      });
      await t.step(
        "a client with a key the server does not trust is refused, with a reason",
        async () => {
          const intruder = await project.compose([
            "run",
            "--rm",
            "-T",
            "-e",
            "SECURE_CLIENT_CERT=/tmp/intruder.key_secret",
            "-e",
            "SECURE_CLIENT_GENERATE_MISSING=true",
            "-e",
            "SECURE_CLIENT_GIVE_UP=4000",
            "secure-client",
          ]);
          assert.equal(intruder.code, 1, intruder.stdout + intruder.stderr);
          assert.match(intruder.stderr, /"event":"gave_up"/);
          const server = await project.logs("secure-server");
          assert.match(server, /"event":"client_denied"/);
        },
      );
    } finally {
      await project.down();
      assert.deepEqual(
        await project.leftovers(),
        [],
        "containers, networks or volumes left behind",
      );
    }
  },
});
