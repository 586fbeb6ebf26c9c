import { defineConfig } from 'vite';

// The API serves the build under /dashboard/ (apps/api/src/dashboard.ts) with a strict
// Content-Security-Policy: no inline script, so no module-preload polyfill inlined either.
export default defineConfig({
  base: '/dashboard/',
  root: import.meta.dirname,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
  },
});
