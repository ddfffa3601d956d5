/**
 * Lab 10 under docker-compose, for real: the image built offline, the scenario run across
 * three internal networks, network isolation proven by failed connects, the anomaly
 * detector's process killed mid-run (restart: unless-stopped brings it back, the generator
 * retries), and everything removed afterwards. Without a working Docker engine this test
 * FAILS (set ZMQ_LABS_SKIP_DOCKER=1 to skip it on purpose, e.g. on a laptop without Docker).
 */
import assert from "node:assert/strict";
import { buildLabImage } from "@lib/tooling/container_image.ts";
import { ComposeProject, dockerProblem } from "@lib/tooling/compose.ts";
import { waitFor } from "@lib/testing/mod.ts";
import { EXPECTED_ALERTS } from "./internal/scenario.ts";

const skip = Deno.env.get("ZMQ_LABS_SKIP_DOCKER") === "1";
if (skip) console.error("ZMQ_LABS_SKIP_DOCKER=1: the docker-compose tests of Lab 10 are SKIPPED");

/** `deno eval` inside a container: try a TCP connect, print CONNECTED or REFUSED <why>. */
function connectProbe(host: string, port: number): string[] {
  return [
    "deno",
    "eval",
    `const t = setTimeout(() => { console.log("REFUSED timeout"); Deno.exit(0); }, 5000);
     try { (await Deno.connect({ hostname: "${host}", port: ${port} })).close(); console.log("CONNECTED"); }
     catch (e) { console.log("REFUSED " + e.name + ": " + e.message); }
     clearTimeout(t);`,
  ];
}

Deno.test({
  name:
    "docker-compose: alerts fire, networks are isolated, a killed detector is restarted and the scenario completes; nothing is left",
  ignore: skip,
  async fn(t) {
    const problem = await dockerProblem();
    assert.equal(problem, null, `Docker is required for Lab 10's compose test: ${problem}`);
    const project = new ComposeProject(
      "labs/10-soc/docker-compose.yml",
      `zmqlabs10t${crypto.randomUUID().slice(0, 8)}`,
    );
    try {
      await t.step("docker-compose config is valid", async () => {
        await project.must(["config", "-q"]);
      });
      await t.step("the image builds offline", async () => {
        const build = await buildLabImage("10");
        console.log(`image built in ${build.buildMs} ms (context ${build.contextBytes} bytes)`);
      });
      await project.up(["threat-feed", "anomaly-detector", "alert-router", "alert-sink"]);

      await t.step(
        "network isolation: the alerting network cannot reach the feed network",
        async () => {
          const feedIp = (await project.inspect(
            "threat-feed",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
          )).split(" ")[0];
          const byName = await project.exec("alert-sink", connectProbe("threat-feed", 5610));
          assert.match(byName.stdout, /^REFUSED /, byName.stdout + byName.stderr);
          const byIp = await project.exec("alert-sink", connectProbe(feedIp, 5610));
          assert.match(byIp.stdout, /^REFUSED /, byIp.stdout + byIp.stderr);
          // The control: a service on the feed network does reach it.
          const control = await project.exec("anomaly-detector", connectProbe("threat-feed", 5610));
          assert.match(control.stdout, /^CONNECTED/, control.stdout + control.stderr);
        },
      );

      await t.step(
        "kill the detector mid-run: restarted by Docker, the generator retries, every alert fires once",
        async () => {
          const run = project.compose([
            "run",
            "--rm",
            "-e",
            "EVENT_GENERATOR_RATE=20",
            "-e",
            "EVENT_GENERATOR_TIMEOUT=500",
            "event-generator",
          ]);
          await waitFor(
            "the detector's brute-force finding",
            async () => (await project.logs("anomaly-detector")).includes('"rule":"brute_force"'),
            {
              timeoutMs: 120_000,
              intervalMs: 200,
            },
          );
          const pid = await project.inspect("anomaly-detector", "{{.State.Pid}}");
          Deno.kill(Number(pid), "SIGKILL"); // a crash, not `docker stop`: the restart policy applies
          await waitFor(
            "Docker to restart the detector",
            async () => Number(await project.inspect("anomaly-detector", "{{.RestartCount}}")) >= 1,
            {
              timeoutMs: 60_000,
            },
          );
          const result = await run;
          assert.equal(result.code, 0, result.stdout + result.stderr);
          const done = result.stderr.split("\n").find((l) => l.includes('"scenario_done"'));
          assert.ok(done, result.stderr);
          assert.equal(JSON.parse(done).alerts, EXPECTED_ALERTS.length, done);
          // The kill was mid-run: the restarted detector scored later attacks.
          const detectorLog = await project.logs("anomaly-detector");
          const restartedAt = detectorLog.indexOf(
            '"event":"started"',
            detectorLog.indexOf('"event":"started"') + 1,
          );
          assert.ok(restartedAt > 0, "the detector never restarted");
          assert.match(detectorLog.slice(restartedAt), /"event":"finding"/);
          const view = await project.exec("alert-sink", [
            "deno",
            "eval",
            "console.log(JSON.stringify(await (await fetch('http://127.0.0.1:5615/alerts.json')).json()))",
          ]);
          const ids = JSON.parse(view.stdout).ids as string[];
          assert.deepEqual(ids, EXPECTED_ALERTS.map((a) => a.alert_id).sort());
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
