import { useState } from 'preact/hooks';
import { messageOf } from './api.ts';

/** An error message, announced to screen readers; nothing while there is none. */
export function ErrorAlert({ error }: { error: string | undefined }) {
  return error ? (
    <p role="alert" class="error">
      {error}
    </p>
  ) : null;
}

/**
 * A form's action: `busy` while it runs, and its failure kept as `error` (the API's message, or
 * what `describe` says instead).
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function run(action: () => Promise<void>, describe: (err: unknown) => string = messageOf) {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}
