#!/usr/bin/env -S node --max-semi-space-size=32
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
// --max-semi-space-size=32 (MiB, V8's default is 16): a gateway allocates a little garbage per
// request, and a larger young generation halves how often it is collected, so fewer requests
// wait behind a collection and fewer short-lived objects are promoted into the old generation.
// It only raises a ceiling; idle processes (and CLI commands) stay small.
import("../dist/cli/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND") {
    console.error("keyward: not built yet. Run `npm run build` first.");
    process.exit(2);
  }
  throw err;
});
