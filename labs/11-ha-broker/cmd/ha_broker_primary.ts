/**
 * ha_broker_primary: the primary half of the Binary Star pair (see internal/broker_role.ts).
 *
 * @module
 */
import { runHaBroker } from "../internal/broker_role.ts";

await runHaBroker("primary");
