/**
 * The few C library functions the binding needs: poll(2) for the reactor, a pipe for its
 * wake-ups, and memcpy (a fast FFI call, cheaper than Deno's copyInto op for small frames).
 *
 * @module
 */

const LIBC_SYMBOLS = {
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  pipe: { parameters: ["buffer"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  memcpy: { parameters: ["buffer", "pointer", "usize"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let loaded: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] | undefined;

/**
 * Opens the C library once.
 *
 * @example
 * ```ts
 * libc().memcpy(destination, sourcePointer, BigInt(length));
 * ```
 */
export function libc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] {
  if (loaded) return loaded;
  const names = Deno.build.os === "darwin"
    ? ["libSystem.B.dylib", "/usr/lib/libSystem.B.dylib"]
    : ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];
  const errors: string[] = [];
  for (const name of names) {
    try {
      return loaded = Deno.dlopen(name, LIBC_SYMBOLS).symbols;
    } catch (error) {
      errors.push(`${name}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(
    `lib/zmq needs poll(2) and memcpy from the C library (${Deno.build.os} is not supported yet): ` +
      errors.join("; "),
  );
}
