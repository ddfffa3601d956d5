/**
 * Loads libzmq through Deno FFI and exposes its C API.
 *
 * Search order (the first library that loads and has CURVE wins; a library without CURVE
 * is used only when none with CURVE loads):
 * 1. `LIBZMQ_PATH`;
 * 2. the prebuilt libzmq 4.3.5 inside the `npm:zeromq@6.8.0` package for this
 *    os/arch/libc (every variant of its `build/manifest.json`), looked up in the
 *    workspace `node_modules`, next to a compiled binary, and in Deno's npm cache;
 * 3. the system names (`libzmq.so.5`, `libzmq.5.dylib`, `libzmq.dll`, ...).
 *
 * @module
 */

const SYMBOLS = {
  zmq_version: { parameters: ["buffer", "buffer", "buffer"], result: "void" },
  zmq_has: { parameters: ["buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_set: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  zmq_ctx_term: { parameters: ["pointer"], result: "i32", nonblocking: true },
  zmq_ctx_shutdown: { parameters: ["pointer"], result: "i32" },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_unbind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_disconnect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_getsockopt: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  zmq_send: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_recv: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_init_data: {
    parameters: ["buffer", "pointer", "usize", "function", "pointer"],
    result: "i32",
  },
  zmq_msg_send: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_msg_move: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_msg_copy: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_size: { parameters: ["buffer"], result: "usize" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_gets: { parameters: ["buffer", "buffer"], result: "pointer" },
  zmq_socket_monitor: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  zmq_z85_encode: { parameters: ["buffer", "buffer", "usize"], result: "pointer" },
  zmq_z85_decode: { parameters: ["buffer", "buffer"], result: "pointer" },
  zmq_curve_keypair: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_curve_public: { parameters: ["buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The loaded libzmq symbols.
 *
 * @example
 * ```ts
 * import { loadLibzmq } from "@lib/zmq/mod.ts";
 * import type { ZmqSymbols } from "./ffi.ts";
 * const z: ZmqSymbols = loadLibzmq().symbols;
 * console.log(z.zmq_errno());
 * ```
 */
export type ZmqSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/**
 * A loaded libzmq and where it came from.
 *
 * @example
 * ```ts
 * import { loadLibzmq } from "@lib/zmq/mod.ts";
 * import type { LoadedLibzmq } from "./ffi.ts";
 * const lib: LoadedLibzmq = loadLibzmq();
 * console.log(lib.path, lib.curve, lib.version);
 * ```
 */
export interface LoadedLibzmq {
  symbols: ZmqSymbols;
  path: string;
  curve: boolean;
  version: [number, number, number];
}

const encoder = new TextEncoder();

/**
 * NUL-terminated C string for FFI calls.
 *
 * @example
 * ```ts
 * import { cstr } from "./ffi.ts";
 * console.log(cstr("ab")); // Uint8Array(3) [ 97, 98, 0 ]
 * ```
 */
export function cstr(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

function zeromqPackageDirs(): string[] {
  const dirs: string[] = [];
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
  const here = new URL(".", import.meta.url);
  if (here.protocol === "file:") {
    // lib/zmq/ -> repository root (also the layout inside a compiled binary).
    const root = decodeURIComponent(new URL("../../", here).pathname).replace(/^\/(\w:)/, "$1");
    dirs.push(`${root}node_modules/zeromq`);
    dirs.push(`${root}node_modules/.deno/zeromq@6.8.0/node_modules/zeromq`);
  }
  try {
    dirs.push(`${Deno.cwd()}/node_modules/zeromq`);
  } catch {
    // no cwd permission: skip
  }
  const home = env("HOME") ?? env("USERPROFILE");
  const denoDir = env("DENO_DIR") ??
    (Deno.build.os === "darwin"
      ? `${home}/Library/Caches/deno`
      : Deno.build.os === "windows"
      ? `${env("LOCALAPPDATA")}\\deno`
      : `${env("XDG_CACHE_HOME") ?? `${home}/.cache`}/deno`);
  dirs.push(`${denoDir}/npm/registry.npmjs.org/zeromq/6.8.0`);
  return dirs;
}

/** Candidate library files inside one npm:zeromq package directory, best first. */
function packageCandidates(dir: string): string[] {
  let manifest: Record<string, string>;
  try {
    manifest = JSON.parse(Deno.readTextFileSync(`${dir}/build/manifest.json`));
  } catch {
    return [];
  }
  const os = Deno.build.os === "windows" ? "win32" : Deno.build.os;
  const arch = ({ x86_64: "x64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch];
  const found: { path: string; abi: number; musl: boolean }[] = [];
  for (const [key, rel] of Object.entries(manifest)) {
    try {
      const meta = JSON.parse(key) as { os: string; arch: string; abi: number; libc: string };
      if (meta.os !== os || meta.arch !== arch) continue;
      found.push({
        path: `${dir}/build/${rel.replaceAll("\\", "/")}`,
        abi: meta.abi,
        musl: meta.libc === "musl",
      });
    } catch {
      continue;
    }
  }
  // glibc before musl, newest ABI first; the old un-suffixed folders last (no CURVE there).
  found.sort((a, b) => Number(a.musl) - Number(b.musl) || b.abi - a.abi);
  const legacy: string[] = [];
  try {
    for (const entry of Deno.readDirSync(`${dir}/build/${os}/${arch}/node`)) {
      if (/^\d+$/.test(entry.name)) {
        legacy.push(`${dir}/build/${os}/${arch}/node/${entry.name}/addon.node`);
      }
    }
  } catch {
    // not there
  }
  return [...found.map((f) => f.path), ...legacy.sort().reverse()];
}

const SYSTEM_NAMES: Record<string, string[]> = {
  linux: [
    "libzmq.so.5",
    "libzmq.so",
    "/usr/lib/x86_64-linux-gnu/libzmq.so.5",
    "/usr/lib/aarch64-linux-gnu/libzmq.so.5",
    "/usr/local/lib/libzmq.so.5",
  ],
  darwin: [
    "libzmq.5.dylib",
    "/opt/homebrew/lib/libzmq.5.dylib",
    "/usr/local/lib/libzmq.5.dylib",
  ],
  windows: [
    "libzmq.dll",
    "libzmq-v143-mt-4_3_5.dll",
    "libzmq-v142-mt-4_3_5.dll",
    "libzmq-mt-4_3_5.dll",
  ],
};

function tryOpen(path: string): LoadedLibzmq | string {
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (error) {
    // A file bundled into a compiled binary cannot be dlopen'ed in place: copy it out.
    const copied = copyOutOfBinary(path);
    if (!copied) return (error as Error).message.split("\n")[0];
    try {
      lib = Deno.dlopen(copied, SYMBOLS);
    } catch (again) {
      return (again as Error).message.split("\n")[0];
    }
  }
  const v = new Int32Array(3);
  lib.symbols.zmq_version(v.subarray(0, 1), v.subarray(1, 2), v.subarray(2, 3));
  const curve = lib.symbols.zmq_has(cstr("curve")) === 1;
  return { symbols: lib.symbols, path, curve, version: [v[0], v[1], v[2]] };
}

function copyOutOfBinary(path: string): string | null {
  try {
    const bytes = Deno.readFileSync(path);
    const tmp = Deno.env.get("TMPDIR") ?? Deno.env.get("TEMP") ?? "/tmp";
    const ext = Deno.build.os === "windows" ? "dll" : Deno.build.os === "darwin" ? "dylib" : "so";
    const target = `${tmp}/zmq-labs-libzmq-${bytes.length}.${ext}`;
    try {
      if (Deno.statSync(target).size === bytes.length) return target;
    } catch {
      // not copied yet
    }
    Deno.writeFileSync(`${target}.${Deno.pid}`, bytes, { mode: 0o755 });
    Deno.renameSync(`${target}.${Deno.pid}`, target);
    return target;
  } catch {
    return null;
  }
}

let loaded: LoadedLibzmq | undefined;

/**
 * Loads libzmq once per process (see the module doc for the search order) or throws one
 * error listing every path tried and how to install libzmq.
 *
 * @example
 * ```ts
 * import { loadLibzmq } from "@lib/zmq/mod.ts";
 * const { path, curve, version } = loadLibzmq();
 * console.log(`libzmq ${version.join(".")} from ${path}, CURVE: ${curve}`);
 * ```
 */
export function loadLibzmq(): LoadedLibzmq {
  if (loaded) return loaded;
  const tried: string[] = [];
  let fallback: LoadedLibzmq | undefined;
  const attempt = (path: string): boolean => {
    const result = tryOpen(path);
    if (typeof result === "string") {
      tried.push(`  ${path}: ${result}`);
      return false;
    }
    if (result.curve) {
      loaded = result;
      return true;
    }
    tried.push(`  ${path}: loads, but has no CURVE`);
    fallback ??= result;
    return false;
  };
  let explicit: string | undefined;
  try {
    explicit = Deno.env.get("LIBZMQ_PATH");
  } catch {
    explicit = undefined;
  }
  if (explicit) {
    const result = tryOpen(explicit);
    if (typeof result !== "string") return (loaded = result);
    tried.push(`  LIBZMQ_PATH=${explicit}: ${result}`);
  }
  const seen = new Set<string>();
  for (const dir of zeromqPackageDirs()) {
    for (const path of packageCandidates(dir)) {
      let real = path;
      try {
        real = Deno.realPathSync(path);
      } catch {
        // keep as is
      }
      if (seen.has(real)) continue;
      seen.add(real);
      if (attempt(path)) return loaded!;
    }
  }
  for (const name of SYSTEM_NAMES[Deno.build.os] ?? []) {
    if (attempt(name)) return loaded!;
  }
  if (fallback) return (loaded = fallback);
  throw new Error(
    [
      "libzmq could not be loaded. Tried:",
      ...tried,
      "Fix: run `deno install` in the repository (brings npm:zeromq@6.8.0 with a prebuilt libzmq),",
      "or install libzmq (Debian/Ubuntu: apt-get install libzmq5; macOS: brew install zeromq;",
      "Windows: put libzmq.dll on PATH), or set LIBZMQ_PATH to the library file.",
    ].join("\n"),
  );
}
