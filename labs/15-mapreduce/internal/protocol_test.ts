import assert from "node:assert/strict";
import { BadMessageError, encode } from "@lib/codec/mod.ts";
import {
  decodeFromWorker,
  decodeTask,
  encodeMessage,
  heartbeatWord,
  type MapTask,
  readyWord,
} from "./protocol.ts";

const mapTask: MapTask = {
  kind: "map",
  job_id: "j1",
  job: "wordcount",
  task: 3,
  attempt: 1,
  file: "/in/a.txt",
  start: 0,
  end: 100,
  reducers: 4,
  work_dir: "/work",
  combine: true,
  max_record: 1024,
  max_skipped: 10,
};

Deno.test("tasks, results and control words round-trip", () => {
  assert.deepEqual(decodeTask(encodeMessage(mapTask)), mapTask);
  assert.deepEqual(decodeFromWorker([readyWord("map")]), { kind: "ready", type: "map" });
  assert.deepEqual(decodeFromWorker([heartbeatWord("reduce")]), {
    kind: "heartbeat",
    type: "reduce",
  });
  const failed = {
    kind: "task_failed",
    job_id: "j1",
    phase: "map",
    task: 1,
    attempt: 2,
    error: "x",
  } as const;
  assert.deepEqual(decodeFromWorker(encodeMessage(failed)), failed);
});

Deno.test("malformed frames throw BadMessageError", () => {
  const enc = new TextEncoder();
  const cases: [string, Uint8Array[]][] = [
    ["empty", []],
    ["unknown word", [enc.encode("MR/1 READY both")]],
    ["garbage word", [new Uint8Array([0xc1, 0xff])]],
    ["wrong tag", [enc.encode("MR/2"), encode(mapTask)]],
    ["not msgpack", [enc.encode("MR/1"), new Uint8Array([0xc1])]],
    ["unknown job", [enc.encode("MR/1"), encode({ ...mapTask, job: "sort" })]],
    ["extra key", [enc.encode("MR/1"), encode({ ...mapTask, x: 1 })]],
    ["three frames", [enc.encode("MR/1"), encode(mapTask), new Uint8Array()]],
  ];
  for (const [name, frames] of cases) {
    assert.throws(() => decodeTask(frames), BadMessageError, name);
    assert.throws(() => decodeFromWorker(frames), BadMessageError, name);
  }
});
