/**
 * What the worker's main thread measures about itself. The main thread renews BullMQ locks and
 * runs the stalled checker, so a blocked event loop means lost locks and double training
 * (RELIABILITY.md P1); its delay is logged per job and periodically, with memory, so a test or an
 * operator can see it.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopDelay {
  /** Percentiles and maximum of the event-loop delay, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface EventLoopMonitor {
  /** The delay since the monitor started or was last reset. */
  read(): EventLoopDelay;
  reset(): void;
  stop(): void;
}

/** Samples the event-loop delay every `resolutionMs` (each sample is a timer, so keep it coarse). */
export function monitorEventLoop(resolutionMs = 10): EventLoopMonitor {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  return {
    read() {
      // Before the first sample the histogram reports NaN/huge sentinels: show zeros instead.
      if (histogram.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
      return {
        p50Ms: ms(histogram.percentile(50)),
        p99Ms: ms(histogram.percentile(99)),
        maxMs: ms(histogram.max),
      };
    },
    reset() {
      histogram.reset();
    },
    stop() {
      histogram.disable();
    },
  };
}

/** Process memory in MiB: rss is what the OS sees; arrayBuffers holds the typed arrays of training. */
export function memoryMb(): { rssMb: number; heapUsedMb: number; arrayBuffersMb: number } {
  const m = process.memoryUsage();
  const mb = (b: number) => Math.round(b / 1048576);
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), arrayBuffersMb: mb(m.arrayBuffers) };
}
