/**
 * Test-only fault injection, inert unless BACKPROP_FAULT_INJECT names faults (comma-separated).
 * Each named fault fires once per process, at its first opportunity, so a test can show that the
 * worker survives it and then takes the next job normally. Never set it in production.
 *
 *   thread-throw             the training thread throws at its first recorded cost, as a bug in
 *                            the training code would (not an nn input or divergence error)
 *   sigstop-before-complete  the worker stops itself with SIGSTOP just before it writes a finished
 *                            job's result: a long GC pause or a frozen VM at the worst moment.
 *                            The test decides when to send SIGCONT.
 *
 * Only the moment is injected; the fault itself is real (a thrown error, a stopped process).
 */
import { z } from 'zod';

export const FAULTS = ['thread-throw', 'sigstop-before-complete'] as const;
export type Fault = (typeof FAULTS)[number];

export const FaultList = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const names = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const name of names) {
      if (!isFault(name)) {
        ctx.addIssue({ code: 'custom', message: `unknown fault "${name}"; known: ${FAULTS.join(', ')}` });
      }
    }
    return names.filter(isFault);
  });

function isFault(name: string): name is Fault {
  return FAULTS.some((fault) => fault === name);
}

const fired = new Set<Fault>();

/** True exactly once per process for a fault named in `armed`. */
export function takeFault(armed: readonly Fault[], fault: Fault): boolean {
  if (!armed.includes(fault) || fired.has(fault)) return false;
  fired.add(fault);
  return true;
}
