// @ts-check
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "web/dist/**",
      "web/src/api/schema.d.ts",
      "node_modules/**",
      "data/**",
      "bench/results/**",
      "coverage/**",
    ],
  },
  js.configs.recommended,
  { files: ["bin/**/*.js"], languageOptions: { globals: { console: "readonly", process: "readonly" } } },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  // The web console: React's rules of hooks on top of the same TypeScript rules.
  { files: ["web/src/**/*.{ts,tsx}"], ...reactHooks.configs.flat.recommended },
);
