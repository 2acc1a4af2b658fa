import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The dev server proxies the API to a locally running `refinery start` (PORT=4455).
const apiTarget = 'http://127.0.0.1:4455';

export default defineConfig({
  plugins: [vue()],
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
      '/healthz': { target: apiTarget, changeOrigin: false },
      '/readyz': { target: apiTarget, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
});
