/**
 * storage_writer — the sink: PULLs parsed batches, checks them, drops batches it stored
 * before (dedup by batch id), appends records and dead letters to rotated NDJSON files
 * (fsync on rotation and on shutdown), then acknowledges each batch to its collector over
 * a ROUTER (routing id = collector run id). Prints the counts received, parsed,
 * dead-lettered and stored.
 *
 * @module
 */
import { runRole } from "@lib/role/mod.ts";
import {
  configureSink,
  runSink,
  type SinkRoleOptions,
  validateSink,
} from "../internal/sink_role.ts";

await runRole<SinkRoleOptions>({
  name: "storage_writer",
  summary: "Sink: dedups, stores rotated NDJSON, acknowledges batches to the collector",
  configure: configureSink,
  validate: validateSink,
  run: runSink,
});
