/**
 * Test helpers of Lab 01. The raw ZMTP peer, the RSS reader and the in-time stop check are
 * Lab 04's (`../04-telemetry-lvc/testing.ts`): one copy until `@lib/testing` holds them.
 *
 * @module
 */
export { assertStopsInTime, rssMiB, zmtpPeer } from "../04-telemetry-lvc/testing.ts";
