/**
 * Readers for `/proc`-style trees. Deno asks for `--allow-all` before it reads anything
 * under `/proc` (it treats the whole tree as privileged), and a role runs with exactly its
 * manifest permissions, so the agent reads `/proc` through libc over FFI (the `ffi`
 * permission it already has for ZeroMQ). Fixture trees in tests use the Deno reader.
 *
 * @module
 */

/** Reads files and lists directories; a missing or unreadable entry is `null`. */
export interface ProcFiles {
  /** The whole file as text, or null if it does not exist (e.g. the process exited). */
  readText(path: string): string | null;
  /** Entry names of a directory, or null if it cannot be listed. */
  list(path: string): string[] | null;
}

/**
 * Reads with Deno's file APIs (needs `--allow-read` on the tree; not `/proc` itself).
 *
 * @example
 * ```ts
 * const files = denoProcFiles();
 * files.readText("internal/testdata/proc/uptime");
 * ```
 */
export function denoProcFiles(): ProcFiles {
  const gone = (err: unknown) =>
    err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied;
  return {
    readText(path) {
      try {
        return Deno.readTextFileSync(path);
      } catch (err) {
        if (gone(err)) return null;
        throw err;
      }
    },
    list(path) {
      try {
        return [...Deno.readDirSync(path)].map((e) => e.name);
      } catch (err) {
        if (gone(err)) return null;
        throw err;
      }
    },
  };
}

const LIBC_CANDIDATES = ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];
const O_RDONLY = 0;
/** Offset of `d_name` in Linux's 64-bit `struct dirent` (ino 8, off 8, reclen 2, type 1). */
const DIRENT_NAME_OFFSET = 19;

const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
} as const;

let libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] | undefined;

function loadLibc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] {
  if (libc) return libc;
  const errors: string[] = [];
  for (const name of LIBC_CANDIDATES) {
    try {
      libc = Deno.dlopen(name, LIBC_SYMBOLS).symbols;
      return libc;
    } catch (err) {
      errors.push(`${name}: ${err instanceof Error ? err.message : err}`);
    }
  }
  throw new Error(`expected a loadable libc for /proc access, got ${errors.join("; ")}`);
}

const cString = (text: string) => new TextEncoder().encode(`${text}\0`);

/**
 * Reads through libc `open/read/close` and `opendir/readdir/closedir` (Linux only).
 *
 * @example
 * ```ts
 * const files = libcProcFiles();
 * files.readText("/proc/uptime"); // "8048.28 16036.15\n"
 * ```
 */
export function libcProcFiles(): ProcFiles {
  const c = loadLibc();
  const chunk = new Uint8Array(64 * 1024);
  const decoder = new TextDecoder();
  return {
    readText(path) {
      const fd = c.open(cString(path), O_RDONLY);
      if (fd < 0) return null;
      try {
        const parts: Uint8Array[] = [];
        let size = 0;
        for (;;) {
          const n = Number(c.read(fd, chunk, BigInt(chunk.length)));
          if (n < 0) return size > 0 ? decoder.decode(concat(parts, size)) : null;
          if (n === 0) break;
          parts.push(chunk.slice(0, n));
          size += n;
        }
        return decoder.decode(concat(parts, size));
      } finally {
        c.close(fd);
      }
    },
    list(path) {
      const dir = c.opendir(cString(path));
      if (dir === null) return null;
      try {
        const names: string[] = [];
        for (let entry = c.readdir(dir); entry !== null; entry = c.readdir(dir)) {
          const name = new Deno.UnsafePointerView(entry).getCString(DIRENT_NAME_OFFSET);
          if (name !== "." && name !== "..") names.push(name);
        }
        return names;
      } finally {
        c.closedir(dir);
      }
    },
  };
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
