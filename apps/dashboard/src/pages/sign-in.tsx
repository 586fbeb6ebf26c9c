import { useState } from 'preact/hooks';
import { z } from 'zod';
import { ApiFailure, call, messageOf, storeKey } from '../api.ts';
import { ErrorAlert, useAction } from '../forms.tsx';

/** Asks for an API key and checks it (GET /v1/usage) before keeping it for this tab. */
export function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const { busy, error, run } = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const trimmed = key.trim();
    storeKey(trimmed);
    await run(
      async () => {
        await call('GET', '/v1/usage', z.object({})).catch((err: unknown) => {
          storeKey(null);
          throw err;
        });
        onSignedIn(trimmed);
      },
      (err) =>
        err instanceof ApiFailure && err.status === 401 ? 'This API key is not valid.' : messageOf(err),
    );
  }

  return (
    <main class="sign-in">
      <h1>backprop</h1>
      <p>Train dense neural networks: upload a dataset, define a network, watch it learn.</p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby="api-key-help"
        />
        <p id="api-key-help" class="help">
          Create one with <code>npm run keys -- create --tenant &lt;name&gt;</code>. It stays in this tab only
          (sessionStorage) and is sent as the Authorization header.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <ErrorAlert error={error} />
      </form>
    </main>
  );
}
