/**
 * OTLP/JSON export (opentelemetry-proto `ExportTraceServiceRequest` in the protobuf JSON
 * mapping the OTLP spec prescribes for OTLP/HTTP JSON and the file exporter): resourceSpans
 * (one per service, `service.name` as a resource attribute) → scopeSpans → spans; trace and
 * span ids as lowercase hex strings (OTLP's exception to base64), 64-bit times as decimal
 * strings of nanoseconds, `kind` and `status.code` as enum numbers, attributes as
 * `[{key, value: {stringValue|intValue|doubleValue|boolValue}}]` with int64 `intValue` as a
 * string. A file written here can be POSTed unchanged to a collector's `/v1/traces`.
 *
 * {@link validateOtlp} checks a document against that shape (field names, types, ids,
 * enums, no unknown fields), so tests do not take our own encoder's word for it.
 *
 * @module
 */

import { VERSION } from "@lib/role/mod.ts";
import type { AttrValue, SpanRecord } from "./span.ts";

/** The instrumentation scope named in every export. */
export const SCOPE_NAME = "zmq-labs/lab20";

/** An OTLP/JSON `KeyValue`. */
export interface OtlpKeyValue {
  key: string;
  value: { stringValue: string } | { intValue: string } | { doubleValue: number } | {
    boolValue: boolean;
  };
}

/** An OTLP/JSON `Span`. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  events: { timeUnixNano: string; name: string; attributes: OtlpKeyValue[] }[];
  status: { code: number; message?: string };
}

/** An OTLP/JSON `ExportTraceServiceRequest`. */
export interface OtlpTraces {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: { scope: { name: string; version: string }; spans: OtlpSpan[] }[];
  }[];
}

/** Unix ms (fractional) as a decimal string of nanoseconds. */
export function unixNano(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

function keyValue(key: string, v: AttrValue): OtlpKeyValue {
  if (typeof v === "string") return { key, value: { stringValue: v } };
  if (typeof v === "boolean") return { key, value: { boolValue: v } };
  return Number.isSafeInteger(v)
    ? { key, value: { intValue: String(v) } }
    : { key, value: { doubleValue: v } };
}

function attributes(record: Record<string, AttrValue>): OtlpKeyValue[] {
  return Object.entries(record).map(([k, v]) => keyValue(k, v));
}

/**
 * Spans as one OTLP/JSON `ExportTraceServiceRequest`, grouped by service.
 *
 * @example
 * ```ts
 * import { toOtlp } from "./otlp.ts";
 * toOtlp([]); // { resourceSpans: [] }
 * ```
 */
export function toOtlp(spans: readonly SpanRecord[]): OtlpTraces {
  const byService = new Map<string, OtlpSpan[]>();
  for (const sp of spans) {
    let list = byService.get(sp.service);
    if (!list) byService.set(sp.service, list = []);
    const out: OtlpSpan = {
      traceId: sp.traceId,
      spanId: sp.spanId,
      name: sp.name,
      kind: sp.kind,
      startTimeUnixNano: unixNano(sp.startMs),
      endTimeUnixNano: unixNano(sp.endMs),
      attributes: attributes(sp.attributes),
      events: sp.events.map((e) => ({
        timeUnixNano: unixNano(e.timeMs),
        name: e.name,
        attributes: attributes(e.attributes),
      })),
      status: sp.status.message ? sp.status : { code: sp.status.code },
    };
    if (sp.parentSpanId) out.parentSpanId = sp.parentSpanId;
    if (sp.traceState) out.traceState = sp.traceState;
    list.push(out);
  }
  return {
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: SCOPE_NAME, version: VERSION }, spans: list }],
    })),
  };
}

// --- validation --------------------------------------------------------------------------

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

class Checker {
  errors: string[] = [];

  fail(path: string, what: string): void {
    if (this.errors.length < 50) this.errors.push(`${path}: ${what}`);
  }

  object(path: string, v: Json, allowed: string[], required: string[] = []): boolean {
    if (!isObject(v)) {
      this.fail(path, "expected an object");
      return false;
    }
    for (const key of Object.keys(v)) {
      if (!allowed.includes(key)) this.fail(`${path}.${key}`, "unknown field");
    }
    for (const key of required) {
      if (v[key] === undefined) this.fail(`${path}.${key}`, "missing");
    }
    return true;
  }

  array(path: string, v: Json, each: (item: Json, path: string) => void): void {
    if (v === undefined) return; // repeated fields may be omitted
    if (!Array.isArray(v)) return this.fail(path, "expected an array");
    v.forEach((item, i) => each(item, `${path}[${i}]`));
  }

  string(path: string, v: Json, pattern?: RegExp): void {
    if (typeof v !== "string") return this.fail(path, "expected a string");
    if (pattern && !pattern.test(v)) this.fail(path, `does not match ${pattern}`);
  }

  uint64(path: string, v: Json): void {
    // Proto JSON: 64-bit integers are decimal strings (numbers are accepted by parsers).
    if (typeof v === "string" ? !/^(0|[1-9][0-9]{0,19})$/.test(v) : !Number.isSafeInteger(v)) {
      this.fail(path, "expected a uint64 as a decimal string");
    }
  }

  int(path: string, v: Json, min: number, max: number): void {
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
      this.fail(path, `expected an integer ${min}..${max}`);
    }
  }

  keyValues(path: string, v: Json): void {
    this.array(path, v, (kv, p) => {
      if (!this.object(p, kv, ["key", "value"], ["key", "value"])) return;
      const { key, value } = kv as Record<string, Json>;
      this.string(`${p}.key`, key);
      this.anyValue(`${p}.value`, value);
    });
  }

  anyValue(path: string, v: Json): void {
    const kinds = [
      "stringValue",
      "boolValue",
      "intValue",
      "doubleValue",
      "arrayValue",
      "kvlistValue",
      "bytesValue",
    ];
    if (!this.object(path, v, kinds)) return;
    const value = v as Record<string, Json>;
    const set = Object.keys(value);
    if (set.length !== 1) return this.fail(path, "expected exactly one value field");
    const [kind] = set;
    const x = value[kind];
    if (kind === "stringValue") this.string(`${path}.${kind}`, x);
    else if (kind === "boolValue" && typeof x !== "boolean") this.fail(path, "expected a bool");
    else if (
      kind === "intValue" &&
      !(typeof x === "string" ? /^-?(0|[1-9][0-9]{0,18})$/.test(x) : Number.isSafeInteger(x))
    ) this.fail(path, "expected an int64 as a decimal string");
    else if (kind === "doubleValue" && typeof x !== "number") this.fail(path, "expected a number");
    else if (kind === "arrayValue" && this.object(`${path}.arrayValue`, x, ["values"])) {
      this.array(
        `${path}.arrayValue.values`,
        (x as Record<string, Json>).values,
        (item, p) => this.anyValue(p, item),
      );
    } else if (kind === "kvlistValue" && this.object(`${path}.kvlistValue`, x, ["values"])) {
      this.keyValues(`${path}.kvlistValue.values`, (x as Record<string, Json>).values);
    } else if (kind === "bytesValue") this.string(`${path}.${kind}`, x, /^[A-Za-z0-9+/]*=*$/);
  }

  span(path: string, v: Json): void {
    const allowed = [
      "traceId",
      "spanId",
      "traceState",
      "parentSpanId",
      "flags",
      "name",
      "kind",
      "startTimeUnixNano",
      "endTimeUnixNano",
      "attributes",
      "droppedAttributesCount",
      "events",
      "droppedEventsCount",
      "links",
      "droppedLinksCount",
      "status",
    ];
    const required = ["traceId", "spanId", "name", "startTimeUnixNano", "endTimeUnixNano"];
    if (!this.object(path, v, allowed, required)) return;
    const sp = v as Record<string, Json>;
    this.string(`${path}.traceId`, sp.traceId, /^(?!0{32})[0-9a-f]{32}$/);
    this.string(`${path}.spanId`, sp.spanId, /^(?!0{16})[0-9a-f]{16}$/);
    if (sp.parentSpanId !== undefined) {
      this.string(`${path}.parentSpanId`, sp.parentSpanId, /^([0-9a-f]{16})?$/);
    }
    if (sp.traceState !== undefined) this.string(`${path}.traceState`, sp.traceState);
    this.string(`${path}.name`, sp.name);
    if (sp.kind !== undefined) this.int(`${path}.kind`, sp.kind, 0, 5);
    this.uint64(`${path}.startTimeUnixNano`, sp.startTimeUnixNano);
    this.uint64(`${path}.endTimeUnixNano`, sp.endTimeUnixNano);
    if (
      typeof sp.startTimeUnixNano === "string" && typeof sp.endTimeUnixNano === "string" &&
      /^\d+$/.test(sp.startTimeUnixNano) && /^\d+$/.test(sp.endTimeUnixNano) &&
      BigInt(sp.endTimeUnixNano) < BigInt(sp.startTimeUnixNano)
    ) this.fail(path, "ends before it starts");
    this.keyValues(`${path}.attributes`, sp.attributes);
    this.array(`${path}.events`, sp.events, (e, p) => {
      if (!this.object(p, e, ["timeUnixNano", "name", "attributes", "droppedAttributesCount"])) {
        return;
      }
      const ev = e as Record<string, Json>;
      this.uint64(`${p}.timeUnixNano`, ev.timeUnixNano);
      this.string(`${p}.name`, ev.name);
      this.keyValues(`${p}.attributes`, ev.attributes);
    });
    if (sp.status !== undefined && this.object(`${path}.status`, sp.status, ["code", "message"])) {
      const st = sp.status as Record<string, Json>;
      if (st.code !== undefined) this.int(`${path}.status.code`, st.code, 0, 2);
      if (st.message !== undefined) this.string(`${path}.status.message`, st.message);
    }
  }
}

/**
 * Checks `doc` against the OTLP/JSON shape of `ExportTraceServiceRequest`; returns the
 * problems found (empty when it conforms).
 *
 * @example
 * ```ts
 * import { validateOtlp } from "./otlp.ts";
 * validateOtlp({ resourceSpans: [] }); // []
 * validateOtlp({ resource_spans: [] }); // ["$.resource_spans: unknown field"]
 * ```
 */
export function validateOtlp(doc: unknown): string[] {
  const c = new Checker();
  if (!c.object("$", doc, ["resourceSpans"])) return c.errors;
  c.array("$.resourceSpans", (doc as Record<string, Json>).resourceSpans, (rs, p) => {
    if (!c.object(p, rs, ["resource", "scopeSpans", "schemaUrl"])) return;
    const r = rs as Record<string, Json>;
    if (
      r.resource !== undefined &&
      c.object(`${p}.resource`, r.resource, ["attributes", "droppedAttributesCount"])
    ) c.keyValues(`${p}.resource.attributes`, (r.resource as Record<string, Json>).attributes);
    c.array(`${p}.scopeSpans`, r.scopeSpans, (ss, q) => {
      if (!c.object(q, ss, ["scope", "spans", "schemaUrl"])) return;
      const sc = ss as Record<string, Json>;
      if (
        sc.scope !== undefined &&
        c.object(`${q}.scope`, sc.scope, [
          "name",
          "version",
          "attributes",
          "droppedAttributesCount",
        ])
      ) {
        const scope = sc.scope as Record<string, Json>;
        if (scope.name !== undefined) c.string(`${q}.scope.name`, scope.name);
        if (scope.version !== undefined) c.string(`${q}.scope.version`, scope.version);
      }
      c.array(`${q}.spans`, sc.spans, (sp, r2) => c.span(r2, sp));
    });
  });
  return c.errors;
}
