import assert from "node:assert/strict";
import { terminalFrame } from "./terminal_frame.ts";

/** Escape codes that clear the screen or home the cursor: the view must never send them. */
const CLEARING = ["\x1b[2J", "\x1b[3J", "\x1b[H"];

Deno.test("plain frames are appended snapshots without escape codes", () => {
  const first = terminalFrame(["title", "row"], { mode: "plain", previousLines: 0 });
  assert.deepEqual(first, { text: "title\nrow\n", lines: 3 });
  const next = terminalFrame(["title", "row"], { mode: "plain", previousLines: first.lines });
  assert.equal(next.text, "title\nrow\n"); // never moves the cursor back over earlier output
});

Deno.test("the first ansi frame draws where the cursor is, never clearing the screen", () => {
  const frame = terminalFrame(["title", "", "row"], { mode: "ansi", previousLines: 0 });
  assert.equal(frame.lines, 3);
  assert.equal(frame.text, "\x1b[?7ltitle\x1b[K\n\x1b[K\nrow\x1b[J\x1b[?7h");
  for (const code of CLEARING) assert.ok(!frame.text.includes(code), JSON.stringify(code));
});

Deno.test("the next ansi frame goes up exactly the lines the previous one drew", () => {
  const first = terminalFrame(["a", "b", "c", "d"], { mode: "ansi", previousLines: 0 });
  const second = terminalFrame(["a", "b"], { mode: "ansi", previousLines: first.lines });
  // up 4 (to the top of the previous frame), rewrite 2 lines, erase the 2 left over below
  assert.equal(second.text, "\x1b[4A\x1b[?7la\x1b[K\nb\x1b[J\x1b[?7h");
  assert.equal(second.lines, 2);
  const third = terminalFrame(["a", "b", "c"], { mode: "ansi", previousLines: second.lines });
  assert.ok(third.text.startsWith("\x1b[2A"), JSON.stringify(third.text));
  // one line per drawn line: the cursor ends at column 0 just below the frame
  assert.equal(third.text.split("\n").length, third.lines);
});

Deno.test("an ansi frame taller than the terminal is cut so its top stays reachable", () => {
  const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
  const frame = terminalFrame(lines, { mode: "ansi", previousLines: 0, rows: 10 });
  assert.equal(frame.lines, 9);
  const drawn = frame.text.split("\n");
  assert.equal(drawn.length, 9);
  assert.ok(drawn[7].startsWith("line 7"), drawn[7]);
  assert.match(drawn[8], /^… 22 more lines \(make the terminal taller\)/);
  const fits = terminalFrame(lines.slice(0, 9), { mode: "ansi", previousLines: 9, rows: 10 });
  assert.equal(fits.lines, 9);
  assert.doesNotMatch(fits.text, /more lines/);
});

Deno.test("an empty ansi frame still draws (and erases) one line", () => {
  const frame = terminalFrame([], { mode: "ansi", previousLines: 5 });
  assert.deepEqual(frame, { text: "\x1b[5A\x1b[?7l\x1b[J\x1b[?7h", lines: 1 });
});
