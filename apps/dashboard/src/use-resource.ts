import { useCallback, useEffect, useState } from 'preact/hooks';
import { messageOf } from './api.ts';

export interface Resource<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** Loads `load()` once (and again on reload()), keeping the last data and error message. */
export function useResource<T>(load: () => Promise<T>, deps: unknown[]): Resource<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => {
        if (!current) return;
        setData(value);
        setError(undefined);
      },
      (err: unknown) => current && setError(messageOf(err)),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data, error, reload };
}
