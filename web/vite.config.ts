import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

// The page runs under `script-src 'self'; style-src 'self'` with Trusted Types required, so the
// build must not emit inline scripts or styles: no modulepreload polyfill, no inlined assets.
export default defineConfig({
  root: webRoot,
  base: '/',
  // public/config.json ships as {} (same origin); an operator replaces it in web/dist to point
  // the page at an API elsewhere. Serving it avoids a 404 in every visitor's console.
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    // `npm run dev` of the API listens on 8000; the page talks to it through this proxy so the
    // browser still sees one origin, as in production.
    proxy: Object.fromEntries(
      ['/auth', '/message', '/messages'].map((path) => [
        path,
        { target: process.env.SEALNOTE_API ?? 'http://127.0.0.1:8000' },
      ]),
    ),
  },
});
