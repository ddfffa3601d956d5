import assert from "node:assert/strict";
import { parseDfOutput, parseWmicDisks } from "./df_parser.ts";

const read = (p: string) => Deno.readTextFileSync(new URL(`./testdata/${p}`, import.meta.url));

Deno.test("df parser: Linux df -kP with a mount point that has a space", () => {
  const disks = parseDfOutput(read("df_linux.txt"));
  assert.deepEqual(disks.map((d) => d.mount), ["/dev", "/", "/media/My Disk", "/mnt/x"]);
  assert.deepEqual(disks[1], {
    filesystem: "/dev/vda",
    size: 264212084 * 1024,
    used: 22821828 * 1024,
    available: 83569084 * 1024,
    capacity: 22,
    mount: "/",
  });
});

Deno.test("df parser: macOS df -kP, file system names with spaces", () => {
  const disks = parseDfOutput(read("df_macos.txt"));
  assert.equal(disks.length, 3);
  assert.equal(disks[2].filesystem, "map auto_home");
  assert.equal(disks[2].mount, "/System/Volumes/Data/home");
  assert.equal(disks[0].capacity, 5);
});

Deno.test("df parser: output without the POSIX header is an error that says so", () => {
  assert.throws(
    () => parseDfOutput("df: unknown option -P\n"),
    /expected a header starting with "Filesystem", got "df: unknown option -P"/,
  );
});

Deno.test("df parser: wmic logicaldisk CSV, empty drives skipped", () => {
  const text =
    "\r\r\nNode,Caption,FileSystem,FreeSpace,Size\r\r\nPC,C:,NTFS,400,1000\r\r\nPC,D:,,,\r\r\n";
  assert.deepEqual(parseWmicDisks(text), [
    { filesystem: "NTFS", mount: "C:", size: 1000, used: 600, available: 400, capacity: 60 },
  ]);
});
