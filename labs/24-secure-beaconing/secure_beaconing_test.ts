/**
 * Process tests of Lab 24: the real roles, run with the manifest's permissions, in test
 * network namespaces (three hosts on one bridge, beacons broadcast on the bridge subnet),
 * observed through their JSON log events, `--json` output and a tshark capture.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { encodeBeacon, newUuid, uuidFromHex, uuidToHex } from "@lib/patterns/zre_beacon.ts";
import { createTestNetwork, runOnce, spawnRole, tempDir } from "@lib/testing/mod.ts";
import { curveKeyPair } from "@lib/zmq/mod.ts";
import { generateCert } from "@lib/zmq/zcert.ts";
import { encodeKeyAnnouncement } from "./internal/protocol.ts";
import {
  broadcastOf,
  captureHost,
  type Device,
  deviceArgs,
  jsonLine,
  jsonLines,
  netnsSkipReason,
  sendUdp,
  startDevice,
  tsharkSkipReason,
} from "./testing.ts";

const netnsSkip = await netnsSkipReason();
if (netnsSkip) console.log(`skipping the Lab 24 namespace tests: ${netnsSkip}`);
const tsharkSkip = await tsharkSkipReason();
if (tsharkSkip) console.log(`skipping the Lab 24 capture: ${tsharkSkip}`);

const ms = (event: { ts?: unknown }) => Date.parse(String(event.ts));

Deno.test({
  name: "three devices are found within two beacon intervals; trusted ones answer over " +
    "CURVE with no plaintext on the wire; a leaving device disappears, a killed one expires",
  ignore: netnsSkip !== undefined,
  async fn() {
    const interval = 1000;
    await using dir = await tempDir("lab24-");
    const trust = `${dir.path}/trust`;
    await Deno.mkdir(trust);
    await using net = await createTestNetwork({ hosts: ["h1", "h2", "h3"] });
    const note = `SECRET-NOTE-${crypto.randomUUID()}`;
    await using scanner = await spawnRole("24", "network_scanner", [
      "--trust-dir",
      trust,
      "--reload-interval",
      "100",
      "--interval",
      String(interval),
      "--expiry",
      "3000",
      "--query-interval",
      "500",
      "--json",
    ], { netns: net.host("h1").netns });
    await scanner.event("scanning", undefined, { timeout: 30_000 });

    const devices: Device[] = [];
    try {
      for (const host of ["h1", "h2", "h3"]) {
        devices.push(
          await startDevice(
            net,
            host,
            deviceArgs(net, dir.path, host, interval, [
              "--publish-dir",
              trust,
            ]),
            { SECURE_DEVICE_SECRET_NOTE: note },
          ),
        );
      }
      // Discovery: each device listed within two beacon intervals of its first beacon.
      for (const device of devices) {
        const seen = await scanner.event("device_seen", (e) => e.uuid === device.uuid, {
          timeout: 30_000,
        });
        const latency = ms(seen) - ms(device.beaconing);
        assert.ok(
          latency <= 2 * interval,
          `device ${device.uuid} found after ${latency} ms (> 2 intervals)`,
        );
        assert.match(String(seen.endpoint), new RegExp(`^tcp://10\\.77\\.`));
      }
      // Pinned keys: trusted, then each answers its status over CURVE.
      for (const device of devices) {
        await scanner.event(
          "device_trust",
          (e) => e.uuid === device.uuid && e.trust === "trusted",
          { timeout: 30_000 },
        );
        await jsonLine(scanner, (l) => l.type === "device_status" && l.uuid === device.uuid);
      }
      // Own beacons are discarded (each device hears its own broadcast) and never listed.
      for (const device of devices) {
        assert.equal(device.proc.eventCount("peer_seen", (e) => e.uuid === device.uuid), 0);
      }

      // No plaintext after discovery: capture on the scanner's host while it queries.
      if (!tsharkSkip) {
        await using capture = await captureHost(net, "h1", dir.path);
        const requestsNow = new Map(devices.map((d) => [d.uuid, 0]));
        for (const line of jsonLines(scanner)) {
          if (line.type === "device_status") {
            requestsNow.set(String(line.uuid), Number(line.requests));
          }
        }
        for (const device of devices) {
          const before = requestsNow.get(device.uuid)!;
          const got = await jsonLine(
            scanner,
            (l) =>
              l.type === "device_status" && l.uuid === device.uuid && Number(l.requests) > before,
          );
          // The note really crossed the wire (its digest matches), inside CURVE.
          const digest = Array.from(
            new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(note))),
          ).map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
          assert.equal(got.note_sha256, digest);
        }
        const { frames, tcpPayloads, hits, control } = await capture.finish(note);
        assert.ok(frames > 0 && tcpPayloads > 0, `captured ${frames} frames, ${tcpPayloads} TCP`);
        assert.ok(control > 0, "the search finds the beacons' plaintext (control)");
        assert.equal(hits, 0, "the secret note appeared in plaintext on the wire");
      }

      // A device that leaves says so (port 0): gone at once, not by expiry.
      const [, leaving, killed] = devices;
      await leaving.proc.stop({ timeout: 30_000 });
      await leaving.proc.event("farewell_sent");
      const left = await scanner.event("device_left", (e) => e.uuid === leaving.uuid, {
        timeout: 10_000,
      });
      assert.ok(ms(left) - ms(leaving.proc.events.find((e) => e.event === "stopping")!) < 3000);
      // A killed device says nothing: it expires once silent for --expiry.
      await killed.proc.kill();
      const killedAt = Date.now();
      const expired = await scanner.event("device_expired", (e) => e.uuid === killed.uuid, {
        timeout: 30_000,
      });
      assert.ok(ms(expired) - killedAt >= 2000, "expired too early");
      assert.equal(scanner.eventCount("device_expired", (e) => e.uuid === leaving.uuid), 0);
      // The surviving peers saw it too.
      await devices[0].proc.event("peer_left", (e) => e.uuid === leaving.uuid, {
        timeout: 10_000,
      });
      await devices[0].proc.event("peer_expired", (e) => e.uuid === killed.uuid, {
        timeout: 30_000,
      });

      await devices[0].proc.stop({ timeout: 30_000 });
      assert.equal((await scanner.stop({ timeout: 30_000 })).code, 0);

      // Secrets never in logs: neither the note nor any secret key.
      const secrets = [note];
      for (const host of ["h1", "h2", "h3"]) {
        const text = await Deno.readTextFile(`${dir.path}/${host}.key_secret`);
        secrets.push(/secret-key = "(.{40})"/.exec(text)![1]);
        // Secret key files are created 0600.
        assert.equal((await Deno.stat(`${dir.path}/${host}.key_secret`)).mode! & 0o777, 0o600);
      }
      for (const proc of [scanner, ...devices.map((d) => d.proc)]) {
        const logs = JSON.stringify(proc.events) + proc.rawStderr.join("\n");
        for (const secret of secrets) {
          assert.ok(!logs.includes(secret), `${proc.name} logged a secret`);
          assert.ok(!proc.stdoutLines.join("\n").includes(secret), `${proc.name} printed one`);
        }
      }
      const started = devices[0].proc.events.find((e) => e.event === "started")!;
      assert.equal((started.options as Record<string, unknown>).secretNote, "***");
    } finally {
      for (const device of devices) await device.proc[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: "a spoofed beacon is listed untrusted and never contacted; an impostor with a " +
    "pinned UUID fails the CURVE handshake; a changed announced key is refused; " +
    "malformed datagrams are dropped",
  ignore: netnsSkip !== undefined,
  async fn() {
    const interval = 500;
    await using dir = await tempDir("lab24-");
    const trust = `${dir.path}/trust`;
    await Deno.mkdir(trust);
    await using net = await createTestNetwork({ hosts: ["h1", "h2", "h3"] });
    await using scanner = await spawnRole("24", "network_scanner", [
      "--trust-dir",
      trust,
      "--reload-interval",
      "100",
      "--interval",
      String(interval),
      "--query-interval",
      "300",
      "--query-timeout",
      "3000",
      "--json",
    ], { netns: net.host("h1").netns });
    await scanner.event("scanning", undefined, { timeout: 30_000 });
    const port = 5670;
    const broadcast = broadcastOf(net);

    // A spoofed beacon from h3: an unknown UUID pointing anywhere.
    const spoofed = newUuid();
    const spoofedId = uuidToHex(spoofed);
    await sendUdp(net, "h3", broadcast, port, [encodeBeacon({ uuid: spoofed, port: 4444 })]);
    const seen = await scanner.event("device_seen", (e) => e.uuid === spoofedId, {
      timeout: 30_000,
    });
    assert.equal(seen.endpoint, `tcp://${net.host("h3").address}:4444`);
    await scanner.event("channel_refused", (e) => e.uuid === spoofedId);
    await jsonLine(
      scanner,
      (l) => l.type === "device_trust" && l.uuid === spoofedId && l.trust === "untrusted",
    );

    // A legitimate, pinned device on h2.
    await using legit = await startDevice(
      net,
      "h2",
      deviceArgs(net, dir.path, "legit", interval, ["--publish-dir", trust]),
    ).then((d) => ({ ...d, [Symbol.asyncDispose]: () => d.proc[Symbol.asyncDispose]() }));
    await jsonLine(scanner, (l) => l.type === "device_status" && l.uuid === legit.uuid);

    // An impostor on h3 claims a pinned UUID (no key announcement) with its own key: the
    // scanner follows the beacon to the new endpoint but the handshake with the pinned
    // key fails there. Nothing is sent to the impostor in the clear.
    const pinnedTwin = uuidToHex(newUuid());
    await Deno.writeTextFile(
      `${trust}/${pinnedTwin}.key`,
      `curve\n    public-key = "${curveKeyPair().publicKey}"\n`,
    );
    await using impostor = await startDevice(
      net,
      "h3",
      deviceArgs(net, dir.path, "impostor", interval, [
        "--uuid",
        pinnedTwin,
        "--no-announce-key",
      ]),
    ).then((d) => ({ ...d, [Symbol.asyncDispose]: () => d.proc[Symbol.asyncDispose]() }));
    await scanner.event("device_trust", (e) => e.uuid === pinnedTwin && e.trust === "trusted", {
      timeout: 30_000,
    });
    const failed = await scanner.event("query_failed", (e) => e.uuid === pinnedTwin, {
      timeout: 30_000,
    });
    assert.match(String(failed.reason), /handshake failed|no reply/);
    await impostor.proc.event("handshake_failed", undefined, { timeout: 30_000 });
    assert.equal(
      jsonLines(scanner).filter((l) => l.type === "device_status" && l.uuid === pinnedTwin).length,
      0,
    );

    // A changed key: someone announces a different key for the legit UUID. Refused loudly
    // and for good: no status query goes to it afterwards.
    await sendUdp(net, "h3", broadcast, port, [
      encodeKeyAnnouncement({ uuid: uuidFromHex(legit.uuid), publicKey: curveKeyPair().publicKey }),
    ]);
    const changed = await scanner.event("key_changed", (e) => e.uuid === legit.uuid, {
      timeout: 30_000,
    });
    assert.equal(changed.level, "error");
    assert.notEqual(changed.expected, changed.announced);
    await jsonLine(scanner, (l) => l.type === "key_changed" && l.uuid === legit.uuid);
    const statusesAt = jsonLines(scanner).filter((l) =>
      l.type === "device_status" && l.uuid === legit.uuid
    ).length;
    // Let several query intervals pass: nothing may happen (an absence, so a fixed wait).
    await new Promise((r) => setTimeout(r, 1500));
    // (at most one reply already in flight when the key changed)
    assert.ok(
      jsonLines(scanner).filter((l) => l.type === "device_status" && l.uuid === legit.uuid)
        .length <= statusesAt + 1,
    );

    // Malformed datagrams: dropped with a rate-limited bad_message, nobody crashes.
    const junk = [new Uint8Array(7), new TextEncoder().encode("ZRE\x02" + "x".repeat(18))];
    await sendUdp(net, "h3", broadcast, port, junk, 20);
    await scanner.event("bad_message", undefined, { timeout: 30_000 });
    await legit.proc.event("bad_message", undefined, { timeout: 30_000 });
    assert.ok(scanner.eventCount("bad_message") <= 4, "bad_message is rate-limited");
    assert.equal((await scanner.stop({ timeout: 30_000 })).code, 0);
    assert.equal((await legit.proc.stop({ timeout: 30_000 })).code, 0);
  },
});

Deno.test(
  "TOFU: the first key is learned and recorded; a device back with a new key is " +
    "refused",
  async () => {
    await using dir = await tempDir("lab24-");
    const beaconPort = 20000 + Math.floor(Math.random() * 20000);
    const known = `${dir.path}/known_devices`;
    const scannerArgs = [
      "--beacon-port",
      String(beaconPort),
      "--tofu",
      "--known-devices",
      known,
      "--interval",
      "300",
      "--query-interval",
      "300",
      "--json",
    ];
    const deviceArgs = (name: string, uuid: string) => [
      "--secret-key-file",
      `${dir.path}/${name}.key_secret`,
      "--generate-missing",
      "--uuid",
      uuid,
      "--bind",
      "tcp://127.0.0.1:*",
      "--beacon-port",
      String(beaconPort),
      "--broadcast",
      "127.255.255.255",
      "--interval",
      "300",
    ];
    const uuid = uuidToHex(newUuid());
    {
      await using scanner = await spawnRole("24", "network_scanner", scannerArgs);
      await scanner.event("scanning");
      await using device = await spawnRole("24", "secure_device", deviceArgs("first", uuid));
      const learned = await jsonLine(
        scanner,
        (l) =>
          l.type === "device_trust" && l.uuid === uuid && l.trust === "tofu" && l.learned === true,
      );
      assert.ok(learned.fingerprint);
      await jsonLine(scanner, (l) => l.type === "device_status" && l.uuid === uuid);
      assert.equal((await device.stop()).code, 0);
      assert.equal((await scanner.stop()).code, 0);
      assert.match(await Deno.readTextFile(known), new RegExp(`^${uuid} \\S{40} tofu `));
    }
    // A new scanner run remembers it; the device comes back with a new key pair.
    await using scanner = await spawnRole("24", "network_scanner", scannerArgs);
    await scanner.event("scanning");
    await using device = await spawnRole("24", "secure_device", deviceArgs("second", uuid));
    const changed = await scanner.event("key_changed", (e) => e.uuid === uuid, { timeout: 30_000 });
    assert.equal(changed.level, "error");
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(jsonLines(scanner).filter((l) => l.type === "device_status").length, 0);
    assert.equal(device.eventCount("handshake_failed"), 0, "no channel was even attempted");
    assert.match(await Deno.readTextFile(known), new RegExp(`^${uuid} `), "the record stays");
  },
);

Deno.test(
  "with --allow-dir a device admits only listed scanners: an unknown scanner key " +
    "is refused by ZAP (logged on both sides)",
  async () => {
    await using dir = await tempDir("lab24-");
    const beaconPort = 20000 + Math.floor(Math.random() * 20000);
    const allow = `${dir.path}/scanners`;
    await Deno.mkdir(allow);
    await generateCert(`${dir.path}/ops.key_secret`);
    await Deno.copyFile(`${dir.path}/ops.key`, `${allow}/ops.key`);
    await using device = await spawnRole("24", "secure_device", [
      "--secret-key-file",
      `${dir.path}/d.key_secret`,
      "--generate-missing",
      "--allow-dir",
      allow,
      "--bind",
      "tcp://127.0.0.1:*",
      "--beacon-port",
      String(beaconPort),
      "--broadcast",
      "127.255.255.255",
      "--interval",
      "300",
    ]);
    const { uuid } = await device.event("beaconing");
    const scannerArgs = [
      "--beacon-port",
      String(beaconPort),
      "--tofu",
      "--interval",
      "300",
      "--query-interval",
      "300",
      "--json",
    ];
    await using allowed = await spawnRole("24", "network_scanner", [
      ...scannerArgs,
      "--secret-key-file",
      `${dir.path}/ops.key_secret`,
    ]);
    await using stranger = await spawnRole("24", "network_scanner", scannerArgs);
    await jsonLine(allowed, (l) => l.type === "device_status" && l.uuid === uuid);
    const failed = await stranger.event("query_failed", (e) => e.uuid === uuid, {
      timeout: 30_000,
    });
    assert.match(String(failed.reason), /handshake failed \(auth 400\)/);
    const denied = await device.event("client_denied", undefined, { timeout: 30_000 });
    assert.equal(denied.status, 400);
    assert.equal(jsonLines(stranger).filter((l) => l.type === "device_status").length, 0);
  },
);

Deno.test(
  "configuration: a group-readable secret key file is refused (exit 2, no key in " +
    "the message); bad flags exit 2; --help",
  async () => {
    await using dir = await tempDir("lab24-");
    const secret = `${dir.path}/d.key_secret`;
    const generated = await runOnce("24", "secure_device", [
      "--secret-key-file",
      secret,
      "--generate-missing",
      "--bind",
      "tcp://127.0.0.1:*",
      "--beacon-port",
      "1",
      "--help",
    ]);
    assert.equal(generated.code, 0);
    assert.match(generated.stdout, /--secret-key-file/);
    // create the pair with a short run of the device
    {
      await using device = await spawnRole("24", "secure_device", [
        "--secret-key-file",
        secret,
        "--generate-missing",
        "--bind",
        "tcp://127.0.0.1:*",
        "--beacon-port",
        String(20000 + Math.floor(Math.random() * 20000)),
        "--broadcast",
        "127.255.255.255",
      ]);
      await device.event("beaconing");
      assert.equal((await device.stop()).code, 0);
    }
    assert.equal((await Deno.stat(secret)).mode! & 0o777, 0o600);
    const key = /secret-key = "(.{40})"/.exec(await Deno.readTextFile(secret))![1];
    await Deno.chmod(secret, 0o644);
    const refused = await runOnce("24", "secure_device", ["--secret-key-file", secret]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /0600/);
    assert.ok(!refused.stderr.includes(key));
    const bad = await runOnce("24", "network_scanner", ["--interval", "x"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
    const noDir = await runOnce("24", "network_scanner", ["--trust-dir", `${dir.path}/nope`]);
    assert.equal(noDir.code, 2);
    // Regressions: a broadcast address that is not one, a known-devices file that cannot be
    // written (TOFU records would be lost at the first key learned).
    await Deno.chmod(secret, 0o600);
    for (const broadcast of ["999.1.1.1", "....", "10.0.0"]) {
      const badCast = await runOnce("24", "secure_device", [
        "--secret-key-file",
        secret,
        "--broadcast",
        broadcast,
      ]);
      assert.equal(badCast.code, 2, `--broadcast ${broadcast}: ${badCast.stderr}`);
      assert.match(badCast.stderr.trim(), /^secure_device: error: --broadcast: expected an IPv4/);
    }
    const noKnownDir = await runOnce("24", "network_scanner", [
      "--tofu",
      "--known-devices",
      `${dir.path}/nope/known`,
    ]);
    assert.equal(noKnownDir.code, 2, noKnownDir.stderr);
    assert.match(
      noKnownDir.stderr.trim(),
      /^network_scanner: error: --known-devices: .*directory does not exist\)$/,
    );
  },
);

Deno.test(
  "a flood of spoofed beacons: the device table stays bounded and the logs get a handful " +
    "of lines, not one per spoofed UUID",
  async () => {
    await using dir = await tempDir("lab24-");
    const port = 20000 + Math.floor(Math.random() * 20000);
    await using scanner = await spawnRole("24", "network_scanner", [
      "--beacon-port",
      String(port),
      "--max-devices",
      "200",
      "--query-interval",
      "0",
      "--refresh",
      "0",
    ]);
    await scanner.event("scanning", undefined, { timeout: 30_000 });
    await using device = await spawnRole("24", "secure_device", [
      "--secret-key-file",
      `${dir.path}/d.key_secret`,
      "--generate-missing",
      "--bind",
      "tcp://127.0.0.1:*",
      "--beacon-port",
      String(port),
      "--broadcast",
      "127.255.255.255",
    ]);
    await device.event("beaconing", undefined, { timeout: 30_000 });
    const socket = dgram.createSocket({ type: "udp4" });
    try {
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
      socket.setBroadcast(true);
      for (let i = 0; i < 2000; i++) {
        const beacon = encodeBeacon({ uuid: newUuid(), port: 1000 + i });
        await new Promise<void>((resolve, reject) =>
          socket.send(beacon, port, "127.255.255.255", (e) => e ? reject(e) : resolve())
        );
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      socket.close();
    }
    // More than 200 spoofed UUIDs arrived: the table is full and says so (rate-limited).
    await scanner.event("device_table_full", undefined, { timeout: 30_000 });
    assert.equal((await scanner.stop()).code, 0);
    assert.equal((await device.stop()).code, 0);
    const seen = scanner.eventCount("device_seen");
    assert.ok(seen <= 60, `scanner: ${seen} device_seen lines for a flood`);
    assert.ok(scanner.eventCount("device_trust") <= 60);
    assert.ok(scanner.eventCount("device_table_full") <= 5);
    const peers = device.eventCount("peer_seen");
    assert.ok(peers >= 1 && peers <= 60, `device: ${peers} peer_seen lines for a flood`);
  },
);
