/**
 * Splits a byte stream into text lines (without the line break), calling `onLine` for each;
 * a last line without a newline is delivered too.
 *
 * @example
 * ```ts
 * import { forEachLine } from "@lib/tooling/lines.ts";
 *
 * const child = new Deno.Command("ls", { stdout: "piped" }).spawn();
 * await forEachLine(child.stdout, (line) => console.log(`[ls] ${line}`));
 * ```
 *
 * @module
 */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffered = "";
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        onLine(buffered.slice(0, nl).replace(/\r$/, ""));
        buffered = buffered.slice(nl + 1);
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (buffered !== "") onLine(buffered.replace(/\r$/, ""));
}
