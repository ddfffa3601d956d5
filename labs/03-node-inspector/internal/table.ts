/**
 * Plain-text tables and human units for the CLI's output.
 *
 * @module
 */

/** Column alignment: `l`eft or `r`ight. */
export type Align = "l" | "r";

/** A column: its header, alignment and optional maximum width (longer cells are cut with `…`). */
export interface Column {
  header: string;
  align?: Align;
  max?: number;
}

/**
 * Lays out rows under headers, columns separated by two spaces, no trailing blanks.
 *
 * @example
 * ```ts
 * formatTable([{ header: "PID", align: "r" }, { header: "NAME" }], [["1", "init"]]);
 * // ["PID  NAME", "  1  init"]
 * ```
 */
export function formatTable(columns: Column[], rows: string[][]): string[] {
  const cells = rows.map((row) =>
    columns.map((c, i) => {
      const v = (row[i] ?? "").replace(/[\r\n\t]/g, " ");
      return c.max !== undefined && v.length > c.max ? `${v.slice(0, c.max - 1)}…` : v;
    })
  );
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((v, i) => columns[i].align === "r" ? v.padStart(widths[i]) : v.padEnd(widths[i]))
      .join("  ").trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * Bytes in binary units with three significant digits.
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.50 KiB"
 * formatBytes(null); // "-"
 * ```
 */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "-";
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${v} B`;
  return `${v.toPrecision(3)} ${UNITS[u]}`;
}

/**
 * Seconds as `[Nd ]hh:mm:ss`.
 *
 * @example
 * ```ts
 * formatDuration(90061); // "1d 01:01:01"
 * ```
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const pad = (n: number) => String(n).padStart(2, "0");
  const hms = `${pad(Math.floor(s % 86400 / 3600))}:${pad(Math.floor(s % 3600 / 60))}:${
    pad(s % 60)
  }`;
  return d > 0 ? `${d}d ${hms}` : hms;
}
