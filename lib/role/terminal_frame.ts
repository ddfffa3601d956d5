/**
 * Turns a rendered live view into what a role writes to stdout for one refresh, without
 * ever clearing the screen: other programs (the lab runner's other roles, the shell's
 * history, log lines) may share the terminal.
 *
 * - `plain`: a snapshot appended after the previous one (for pipes, files and the lab
 *   runner, which prefixes every line with the role name).
 * - `ansi`: redraws in place. The cursor goes up by the number of lines the previous frame
 *   drew (it ended with a newline, so the cursor is at column 0 just below it), each line is
 *   rewritten and erased to its end, and the last one erases everything below it (left over
 *   from a longer previous frame). Line wrapping is off while drawing, so a line wider than
 *   the terminal is clipped instead of taking two rows; a frame taller than the terminal is
 *   cut, so the cursor can always reach its top.
 *
 * Pure: lines and the previous frame's height in, text out.
 *
 * @module
 */

/** Cursor up `n` lines (CUU). */
const UP = (n: number) => `\x1b[${n}A`;
/** Erase from the cursor to the end of the line (EL 0). */
const ERASE_LINE_END = "\x1b[K";
/** Erase from the cursor to the end of the screen (ED 0). */
const ERASE_BELOW = "\x1b[J";
/** Auto-wrap off / on (DECAWM). */
const WRAP_OFF = "\x1b[?7l";
const WRAP_ON = "\x1b[?7h";

/** How to write the frame. */
export interface FrameOptions {
  /** `ansi` redraws over the previous frame; `plain` appends a snapshot. */
  mode: "ansi" | "plain";
  /** Lines the previous ansi frame drew (`Frame.lines`); 0 before the first one. */
  previousLines: number;
  /** Terminal height in rows, when known: an ansi frame keeps at most `rows - 1` lines. */
  rows?: number;
}

/** One refresh of the view. */
export interface Frame {
  /** The text to write, followed by one newline (`ctx.print` adds it). */
  text: string;
  /** Lines drawn, to pass as `previousLines` to the next frame. */
  lines: number;
}

/**
 * Builds one refresh of the terminal view from the rendered lines.
 *
 * @example
 * ```ts
 * import { terminalFrame } from "@lib/role/mod.ts";
 * let drawn = 0;
 * const frame = terminalFrame(["line 1", "line 2"], { mode: "ansi", previousLines: drawn });
 * drawn = frame.lines; // the next frame is drawn over these 2 lines
 * console.log(frame.text);
 * ```
 */
export function terminalFrame(lines: readonly string[], options: FrameOptions): Frame {
  if (options.mode === "plain") {
    // A blank line (the newline print adds) separates one snapshot from the next.
    return { text: lines.join("\n") + "\n", lines: lines.length + 1 };
  }
  let shown = lines.length === 0 ? [""] : [...lines];
  if (options.rows !== undefined) {
    const max = Math.max(2, options.rows - 1);
    if (shown.length > max) {
      const cut = shown.length - (max - 1);
      shown = [...shown.slice(0, max - 1), `… ${cut} more lines (make the terminal taller)`];
    }
  }
  const up = options.previousLines > 0 ? UP(options.previousLines) : "";
  const body = shown.map((line, i) =>
    line + (i === shown.length - 1 ? ERASE_BELOW + WRAP_ON : ERASE_LINE_END)
  );
  return { text: up + WRAP_OFF + body.join("\n"), lines: shown.length };
}
