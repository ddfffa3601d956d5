import assert from "node:assert/strict";
import { MetricsWriter, parsePrometheusText } from "./prometheus_text.ts";

Deno.test("prometheus: writer output parses back, escapes included", () => {
  const w = new MetricsWriter();
  w.family("peer_messages_total", "counter", "Messages.\nper peer \\ identity", [
    { labels: { peer: 'a"b\\c\nd', direction: "f2b" }, value: 3 },
  ]);
  w.family("wait_seconds", "histogram", "Wait.", [
    { suffix: "_bucket", labels: { le: "0.1" }, value: 1 },
    { suffix: "_bucket", labels: { le: "+Inf" }, value: 2 },
    { suffix: "_sum", value: 0.5 },
    { suffix: "_count", value: 2 },
  ]);
  w.family("paused", "gauge", "Paused.", [{ value: NaN }]);
  const [c, h, g] = parsePrometheusText(w.text());
  assert.equal(c.help, "Messages.\nper peer \\ identity");
  assert.deepEqual(c.samples[0].labels, { peer: 'a"b\\c\nd', direction: "f2b" });
  assert.equal(h.type, "histogram");
  assert.equal(h.samples.length, 4);
  assert.ok(Number.isNaN(g.samples[0].value));
});

Deno.test("prometheus: grammar and consistency errors are reported with the line", () => {
  const bad: [string, RegExp][] = [
    ['x{a="1"} one\n', /line 1: expected a float/],
    ["# TYPE x counter\nx -1\n", /counter x is -1/],
    ["x 1\n# TYPE x gauge\n", /line 2: TYPE of x after its samples/],
    ['x{a="1} 2\n', /unterminated|expected/],
    ['x{1a="1"} 2\n', /label name/],
    ["x 1\nx 2\n", /given twice/],
    ["x 1 1.5\n", /integer timestamp/],
    [
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n',
      /not cumulative/,
    ],
    ['# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 2\n', /_count 2 != \+Inf bucket 1/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n', /no le="\+Inf"/],
  ];
  for (const [text, re] of bad) assert.throws(() => parsePrometheusText(text), re, text);
});

Deno.test("prometheus: comments, blank lines, timestamps and untyped samples", () => {
  const fs = parsePrometheusText("# just a comment\n\nup 1 1700000000000\n");
  assert.deepEqual(fs, [{
    name: "up",
    type: "untyped",
    help: "",
    samples: [{ name: "up", labels: {}, value: 1, timestampMs: 1700000000000 }],
  }]);
});
