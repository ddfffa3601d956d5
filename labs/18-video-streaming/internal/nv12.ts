/**
 * NV12 frames: sizes, a synthetic moving test pattern written into a reused buffer, and the
 * per-frame analysis an analytics engine runs (luma histogram, motion score against the
 * previous frame) on a subsampled luma grid.
 *
 * NV12 is a Y plane of `width × height` bytes followed by one interleaved U/V plane of
 * `width × height / 2` bytes (2×2 chroma subsampling): 12 bits per pixel, so one 3840×2160
 * frame is 12,441,600 bytes.
 *
 * @module
 */

/** Width of a 4K UHD frame. */
export const UHD_WIDTH = 3840;
/** Height of a 4K UHD frame. */
export const UHD_HEIGHT = 2160;

/**
 * Bytes of one NV12 frame (even width and height).
 *
 * @example
 * ```ts
 * import { nv12Size } from "./nv12.ts";
 * console.log(nv12Size(3840, 2160)); // 12441600
 * ```
 */
export function nv12Size(width: number, height: number): number {
  return width * height * 3 / 2;
}

/** Side of the bright square that moves across the synthetic pattern. */
const BOX = 128;

/**
 * A synthetic moving NV12 pattern: a diagonal luma ramp scrolling by 3 levels a frame, a
 * bright square moving across the picture, a chroma ramp, and the frame id stamped in the
 * first 4 bytes (so no two frames are alike, which the pool-reuse test relies on). Writes
 * into a caller's buffer without allocating.
 *
 * @example
 * ```ts
 * import { nv12Size, SyntheticPattern } from "./nv12.ts";
 * const pattern = new SyntheticPattern(64, 32);
 * const frame = new Uint8Array(nv12Size(64, 32));
 * pattern.render(frame, 7);
 * ```
 */
export class SyntheticPattern {
  readonly width: number;
  readonly height: number;
  readonly #ramp: Uint8Array;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    // One long ramp: every row is a window of it at a different offset (memcpy per row).
    this.#ramp = new Uint8Array(width + 512);
    for (let i = 0; i < this.#ramp.length; i++) this.#ramp[i] = 16 + (i % 220);
  }

  /** Writes frame `id` of the pattern into `frame` (at least `nv12Size` bytes). */
  render(frame: Uint8Array, id: number): void {
    const { width, height } = this;
    const ramp = this.#ramp;
    const shift = (id * 3) % 220;
    for (let y = 0; y < height; y++) {
      const start = (y + shift) % 220;
      frame.set(ramp.subarray(start, start + width), y * width);
    }
    const box = Math.min(BOX, width, height);
    const span = Math.max(1, width - box);
    const x0 = (id * 16) % span;
    const y0 = Math.floor((height - box) / 2);
    for (let y = y0; y < y0 + box; y++) frame.fill(235, y * width + x0, y * width + x0 + box);
    const uv = frame.subarray(width * height, nv12Size(width, height));
    for (let y = 0; y < height / 2; y++) {
      const start = (y * 2 + id) % 220;
      uv.set(ramp.subarray(start, start + width), y * width);
    }
    frame[0] = id & 0xff;
    frame[1] = (id >>> 8) & 0xff;
    frame[2] = (id >>> 16) & 0xff;
    frame[3] = (id >>> 24) & 0xff;
  }
}

/** What an engine computes per frame. */
export interface FrameAnalysis {
  /** Mean luma of the sampled grid (0-255). */
  lumaMean: number;
  /** Mean absolute luma difference to the previous frame's grid (0-255); 0 for the first. */
  motion: number;
}

/**
 * Per-frame analysis on a luma grid sampled every `step` pixels in both directions (a 4K
 * frame at step 4 is 960×540 = 518,400 samples): a 256-bin histogram and the motion score
 * against the previous frame's grid. Keeps two small grids, never the frames.
 *
 * @example
 * ```ts
 * import { FrameAnalyzer, nv12Size, SyntheticPattern } from "./nv12.ts";
 * const analyzer = new FrameAnalyzer(4);
 * const frame = new Uint8Array(nv12Size(64, 32));
 * new SyntheticPattern(64, 32).render(frame, 1);
 * console.log(analyzer.analyze(frame, 64, 32).motion); // 0: no previous frame
 * ```
 */
export class FrameAnalyzer {
  readonly step: number;
  /** Histogram of the last analyzed frame's sampled luma. */
  readonly histogram = new Uint32Array(256);
  #grid = new Uint8Array(0);
  #previous = new Uint8Array(0);
  #hasPrevious = false;

  constructor(step: number) {
    this.step = step;
  }

  /** Analyzes one NV12 frame (its Y plane) of `width × height`. */
  analyze(frame: Uint8Array, width: number, height: number): FrameAnalysis {
    const step = this.step;
    const cols = Math.ceil(width / step), rows = Math.ceil(height / step);
    const n = cols * rows;
    if (this.#grid.length !== n) {
      this.#grid = new Uint8Array(n);
      this.#previous = new Uint8Array(n);
      this.#hasPrevious = false;
    }
    const grid = this.#grid, previous = this.#previous, histogram = this.histogram;
    histogram.fill(0);
    let sum = 0, diff = 0, k = 0;
    for (let y = 0; y < height; y += step) {
      const row = y * width;
      for (let x = 0; x < width; x += step) {
        const v = frame[row + x];
        grid[k] = v;
        histogram[v]++;
        sum += v;
        const d = v - previous[k];
        diff += d < 0 ? -d : d;
        k++;
      }
    }
    const motion = this.#hasPrevious ? diff / n : 0;
    this.#grid = previous;
    this.#previous = grid;
    this.#hasPrevious = true;
    return { lumaMean: sum / n, motion };
  }

  /** Forgets the previous frame (a new stream starts). */
  reset(): void {
    this.#hasPrevious = false;
  }
}
