import assert from "node:assert/strict";
import { TopicCounter } from "./topic_counter.ts";

Deno.test("counts per topic, bounded", () => {
  const c = new TopicCounter(2);
  c.add(new TextEncoder().encode("hb.A.a-01"));
  c.add("hb.A.a-01");
  c.add("hb.A.a-02");
  c.add("hb.B.b-01");
  c.add("hb.B.b-02");
  c.add(undefined);
  assert.deepEqual(c.toJSON(), { "hb.A.a-01": 2, "hb.A.a-02": 1, "(other)": 3 });
  assert.equal(c.total, 6);
});
