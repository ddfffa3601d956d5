/**
 * The secure_client's live view: the link, the server it pinned, and the last reading of
 * each sensor.
 *
 * @module
 */
import type { Reading } from "./protocol.ts";

/** What the view shows. */
export interface ViewState {
  link: string;
  serverFingerprint: string;
  ownFingerprint: string;
  received: number;
  rate: number;
  gaps: number;
  restarts: number;
  badMessages: number;
  latest: ReadonlyMap<string, Reading>;
}

/**
 * Renders the view as lines (at most `maxSensors` sensor rows).
 *
 * @example
 * ```ts
 * import { renderView } from "./view.ts";
 * renderView({
 *   link: "secure", serverFingerprint: "f", ownFingerprint: "o", received: 0, rate: 0,
 *   gaps: 0, restarts: 0, badMessages: 0, latest: new Map(),
 * }).length; // 4
 * ```
 */
export function renderView(state: ViewState, maxSensors = 20): string[] {
  const rows = [...state.latest.values()].sort((a, b) =>
    a.sensor.localeCompare(b.sensor, undefined, { numeric: true })
  );
  const shown = rows.slice(0, maxSensors);
  return [
    `secure_client  link ${state.link.toUpperCase()}  server ${state.serverFingerprint}  me ${state.ownFingerprint}`,
    `received ${state.received}  rate ${state.rate}/s  gaps ${state.gaps}  server restarts ${state.restarts}  bad ${state.badMessages}`,
    `sensor    value      seq  label`,
    ...shown.map((r) =>
      `${r.sensor.padEnd(8)} ${r.value.toFixed(2).padStart(6)} ${
        String(r.seq).padStart(8)
      }  ${r.label}`
    ),
    ...(rows.length > shown.length ? [`… ${rows.length - shown.length} more sensors`] : []),
    ...(rows.length === 0 ? ["(no readings yet)"] : []),
  ];
}
