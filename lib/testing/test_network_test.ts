import assert from "node:assert/strict";
import { createTestNetwork, spawnScript, type TestNetwork, testNetworkSupport } from "./mod.ts";

const support = await testNetworkSupport();
if (!support.ok) console.log(`test_network_test: skipping every test: ${support.reason}`);
else if (!support.iptables) {
  console.log("test_network_test: skipping the partition and loss tests: iptables is missing");
}
const noNetns = !support.ok;
const noIptables = !support.ok || !support.iptables;

const decoder = new TextDecoder();
async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return decoder.decode(out.stdout) + decoder.decode(out.stderr);
}

// From `from`, try a TCP connection to a closed port of `to`: a refusal (RST) proves the
// path works both ways; silence (a timeout) or "no route" means it does not.
const PROBE = `
const [host, port] = Deno.args;
const timer = setTimeout(() => { console.log("silent"); Deno.exit(0); }, 1500);
try { (await Deno.connect({ hostname: host, port: Number(port) })).close(); console.log("open"); }
catch (e) { console.log(e.name === "ConnectionRefused" ? "reachable" : "unreachable:" + e.name); }
clearTimeout(timer);
`;

async function reach(net: TestNetwork, from: string, to: string): Promise<string> {
  const out = await net.command(from, Deno.execPath(), [
    "eval",
    PROBE,
    net.host(to).address,
    "9",
  ], { stdout: "piped", stderr: "piped" }).output();
  return decoder.decode(out.stdout).trim() || decoder.decode(out.stderr).trim();
}

async function leftovers(net: TestNetwork): Promise<string[]> {
  const found: string[] = [];
  if ((await sh("ip", "netns", "list")).includes(net.id)) found.push("a namespace");
  if ((await sh("ip", "route", "show", "type", "blackhole")).includes(net.subnet.split("/")[0])) {
    found.push("the blackhole route");
  }
  if ((await sh("ip", "link", "show")).includes(`zl${net.id}`)) found.push("an interface");
  return found;
}

Deno.test({
  name: "test network: hosts reach each other; dispose leaves nothing behind",
  ignore: noNetns,
  async fn() {
    let kept: TestNetwork;
    {
      await using net = await createTestNetwork({ hosts: ["a", "b", "c"] });
      kept = net;
      assert.match(net.subnet, /^10\.77\.\d+\.0\/24$/);
      assert.deepEqual(net.hosts.map((h) => h.address.split(".")[3]), ["1", "2", "3"]);
      const namespaces = await sh("ip", "netns", "list");
      for (const h of net.hosts) assert.ok(namespaces.includes(h.netns), namespaces);
      assert.ok(namespaces.includes(net.switchNetns));
      assert.match(
        await sh("ip", "route", "show", "type", "blackhole"),
        new RegExp(net.subnet.replace("/24", "")),
      );
      assert.equal(await reach(net, "a", "b"), "reachable");
      assert.equal(await reach(net, "c", "a"), "reachable");
      assert.throws(() => net.host("d"), /no test host "d": expected one of a, b, c/);
    }
    assert.deepEqual(await leftovers(kept!), []);
  },
});

Deno.test({
  name: "test network: a failed setup removes what it had built",
  ignore: noNetns,
  async fn() {
    // A host name that makes an invalid namespace name fails after the route and switch exist.
    const before = [await sh("ip", "netns", "list"), await sh("ip", "route", "show")];
    await assert.rejects(createTestNetwork({ hosts: ["ok", "bad/name"] }), /ip netns add/);
    assert.deepEqual([await sh("ip", "netns", "list"), await sh("ip", "route", "show")], before);
    await assert.rejects(createTestNetwork({ hosts: [] }), /expected 1 to 200 hosts, got 0/);
  },
});

Deno.test({
  name: "test network: link down cuts a host off, link up brings it back",
  ignore: noNetns,
  async fn() {
    await using net = await createTestNetwork();
    await net.linkDown("h2");
    assert.notEqual(await reach(net, "h1", "h2"), "reachable");
    await net.linkUp("h2");
    assert.equal(await reach(net, "h1", "h2"), "reachable");
  },
});

Deno.test({
  name: "test network: a partition drops traffic between two hosts only; heal ends it",
  ignore: noIptables,
  async fn() {
    await using net = await createTestNetwork({ hosts: ["h1", "h2", "h3"] });
    await net.partition("h1", "h2");
    assert.equal(await reach(net, "h1", "h2"), "silent");
    assert.equal(await reach(net, "h2", "h1"), "silent");
    assert.equal(await reach(net, "h1", "h3"), "reachable");
    await net.heal();
    assert.equal(await reach(net, "h1", "h2"), "reachable");
  },
});

Deno.test({
  name: "test network: loss and bandwidth install their rules",
  ignore: noIptables,
  async fn() {
    await using net = await createTestNetwork();
    await net.loss("h1", 1);
    assert.equal(await reach(net, "h1", "h2"), "silent");
    const rules = await sh("ip", "netns", "exec", net.host("h1").netns, "iptables", "-S");
    assert.match(rules, /-m statistic --mode random --probability 1(\.0+)? -j DROP/);
    await net.heal("h1");
    assert.equal(await reach(net, "h1", "h2"), "reachable");
    await assert.rejects(net.loss("h1", 2), /expected a loss probability in \[0, 1\], got 2/);
    await net.bandwidth("h1", "512kbit");
    const qdisc = await sh("ip", "netns", "exec", net.host("h1").netns, "tc", "qdisc", "show");
    assert.match(qdisc, /tbf .*rate 512Kbit/);
    await net.bandwidth("h1", null);
    assert.doesNotMatch(
      await sh("ip", "netns", "exec", net.host("h1").netns, "tc", "qdisc", "show"),
      /tbf/,
    );
  },
});

Deno.test({
  name: "test network: spawnScript runs a process inside a host (netns)",
  ignore: noNetns,
  async fn() {
    await using net = await createTestNetwork();
    const echo = new URL("../role/testdata/echo_role.ts", import.meta.url).pathname;
    {
      await using proc = spawnScript(echo, ["env"], [], { netns: net.host("h2").netns });
      await proc.event("ready");
      // The process runs in h2's namespace (and is deno itself: ip netns exec execs it).
      const inode = await Deno.readLink(`/proc/${proc.pid}/ns/net`);
      const h2 = (await sh("ip", "netns", "identify", String(proc.pid))).trim();
      assert.equal(h2, net.host("h2").netns, inode);
      await proc.stop();
    }
  },
});
