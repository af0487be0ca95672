import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** The console's build: hashed file names under /assets, served by keyward itself (src/console). */
export default defineConfig({
  root: new URL(".", import.meta.url).pathname,
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No inline scripts or styles: the console's CSP allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
