// `npm run build -w app`: builds app/frontend into app/public, which the server serves.
import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

export default defineConfig({
  root: fileURLToPath(new URL('./frontend/', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('./public/', import.meta.url)),
    emptyOutDir: true,
  },
  server: {
    // `vite` in dev: the API comes from the running server.
    proxy: { '/api': `http://127.0.0.1:${process.env.PORT || 8080}` },
  },
})
