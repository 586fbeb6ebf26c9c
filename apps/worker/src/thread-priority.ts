import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Training is batch work; the worker's main thread is not: it renews the BullMQ locks, and a
 * starved main thread loses them (RELIABILITY.md P1). On a machine whose cores are all busy (the
 * API, Postgres, other trainings) the kernel should run it first. Linux keeps a nice value per
 * thread, so a training thread (and each of its helper threads) lowers its own; training then
 * only loses the CPU time the others actually use. Elsewhere, or if not permitted, it runs at the
 * process's priority.
 */
export function lowerOwnPriority(nice: number): void {
  if (nice <= 0) return;
  try {
    // /proc/thread-self names the calling thread: <pid>/task/<tid>.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // Not Linux, or no /proc: nothing to do.
  }
}
