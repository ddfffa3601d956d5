/**
 * Parser for POSIX `df -kP` output (and Windows `wmic logicaldisk` CSV), the `disk`
 * command's data source.
 *
 * @module
 */

/** One mounted file system. Sizes in bytes. */
export interface DiskInfo {
  filesystem: string;
  mount: string;
  size: number;
  used: number;
  available: number;
  /** Used percent as `df` reports it (used / (used + available), rounded up). */
  capacity: number;
}

/** Arguments for `df` that {@linkcode parseDfOutput} reads (POSIX output, KiB blocks). */
export const DF_ARGS: readonly string[] = ["-kP"];

/**
 * Parses `df -kP`: a header line, then
 * `<filesystem> <1024-blocks> <used> <available> <capacity>% <mounted on>`.
 * Mount points may contain spaces (everything after the capacity column is the mount).
 *
 * @example
 * ```ts
 * const [root] = parseDfOutput(
 *   "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 1000 250 750 25% /\n",
 * );
 * root.size; // 1024000
 * ```
 */
export function parseDfOutput(text: string): DiskInfo[] {
  const lines = text.split("\n");
  if (!/^Filesystem\s/.test(lines[0] ?? "")) {
    throw new SyntaxError(
      `df: expected a header starting with "Filesystem", got ${JSON.stringify(lines[0] ?? "")}`,
    );
  }
  const row = /^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+|-)%?\s+(\/.*|[A-Za-z]:.*)$/;
  const out: DiskInfo[] = [];
  for (const line of lines.slice(1)) {
    const m = row.exec(line.trimEnd());
    if (!m) continue;
    out.push({
      filesystem: m[1],
      size: Number(m[2]) * 1024,
      used: Number(m[3]) * 1024,
      available: Number(m[4]) * 1024,
      capacity: m[5] === "-" ? 0 : Number(m[5]),
      mount: m[6],
    });
  }
  return out;
}

/** Arguments for Windows `wmic` that {@linkcode parseWmicDisks} reads. */
export const WMIC_ARGS: readonly string[] = [
  "logicaldisk",
  "get",
  "Caption,FileSystem,FreeSpace,Size",
  "/format:csv",
];

/**
 * Parses `wmic logicaldisk get Caption,FileSystem,FreeSpace,Size /format:csv`
 * (`Node,Caption,FileSystem,FreeSpace,Size`). Drives without a size (empty card
 * readers) are skipped.
 *
 * @example
 * ```ts
 * parseWmicDisks("Node,Caption,FileSystem,FreeSpace,Size\r\nPC,C:,NTFS,400,1000\r\n")[0].used; // 600
 * ```
 */
export function parseWmicDisks(text: string): DiskInfo[] {
  const out: DiskInfo[] = [];
  for (const line of text.split(/\r*\n/)) {
    const cols = line.trim().split(",");
    if (cols.length < 5 || cols[1] === "Caption") continue;
    const free = Number(cols[3]);
    const size = Number(cols[4]);
    if (cols[4] === "" || !Number.isFinite(size) || size <= 0 || !Number.isFinite(free)) continue;
    const used = size - free;
    out.push({
      filesystem: cols[2] || cols[1],
      mount: cols[1],
      size,
      used,
      available: free,
      capacity: Math.ceil(100 * used / size),
    });
  }
  return out;
}
