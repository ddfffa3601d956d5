import assert from "node:assert/strict";
import { REPO_ROOT } from "./manifest.ts";
import { PLANNED_LABS } from "./planned_labs.ts";

const SEED = `${REPO_ROOT}/../shared/seed/000_9f2b861c4451be7a.txt`;

function readSeed(): string | null {
  try {
    return Deno.readTextFileSync(SEED);
  } catch {
    return null;
  }
}

const seed = readSeed();
if (seed === null) {
  console.log(`planned_labs_test: skipping the course comparison: ${SEED} is not there`);
}

Deno.test("there are 24 planned labs, 01 to 24 in order", () => {
  assert.deepEqual(
    PLANNED_LABS.map((lab) => lab.id),
    Array.from({ length: 24 }, (_, i) => String(i + 1).padStart(2, "0")),
  );
});

Deno.test({
  name: "every planned lab has the course's own title and pattern",
  ignore: seed === null,
  fn() {
    // "### Lab 07: Global Policy Synchronization (Clone Pattern)" ... "**Pattern:** Clone (...)."
    const course = [
      ...seed!.matchAll(/^### Lab (\d\d): (.+?) \([^\n]*\)\n([\s\S]*?)(?=^### |^## )/gm),
    ]
      .map(([, id, title, body]) => ({
        id,
        title,
        pattern: /^\*\*Pattern:\*\* (.+?)\.?$/m.exec(body)?.[1],
      }));
    assert.equal(course.length, 24);
    assert.deepEqual(PLANNED_LABS.map((lab) => ({ ...lab })), course);
  },
});
