import assert from "node:assert/strict";
import { buildView, histogramQuantile, renderView } from "./metrics_view.ts";
import { parsePrometheusText } from "./prometheus_text.ts";

Deno.test("histogramQuantile interpolates within the bucket, as Prometheus does", () => {
  assert.equal(histogramQuantile(0.5, [[1, 0], [2, 10], [Infinity, 10]]), 1.5);
  assert.equal(histogramQuantile(0.99, [[1, 5], [Infinity, 10]]), 1);
  assert.ok(Number.isNaN(histogramQuantile(0.5, [[Infinity, 0]])));
});

Deno.test("view: rates from two scrapes, peers joined, rendered as lines", () => {
  const a = parsePrometheusText('broker_forwarded_messages_total{direction="f2b"} 10\n');
  const b = parsePrometheusText(
    'broker_forwarded_messages_total{direction="f2b"} 30\n' +
      'broker_peer_messages_total{peer="c-1",direction="f2b"} 7\n' +
      'broker_peer_messages_total{peer="c-1",direction="b2f"} 6\n' +
      'broker_peer_bytes_total{peer="c-1",direction="f2b"} 70\n' +
      "broker_paused 1\n",
  );
  const v = buildView(b, a, 2);
  assert.equal(v.directions[0].perSecond, 10);
  assert.deepEqual(v.top, [{ peer: "c-1", requests: 7, replies: 6, bytes: 70 }]);
  assert.equal(v.paused, true);
  const text = renderView(v, "x", 5).join("\n");
  assert.match(text, /PAUSED/);
  assert.match(text, /c-1 +7 +6 +70/);
});
