/**
 * The `z` every schema is built with: zod extended with `.openapi()` (by @hono/zod-openapi on
 * import). zod 4 attaches methods per instance, so a schema built from plain `zod` before the
 * extension ran would lack `.openapi()`; importing `z` from here makes the order irrelevant.
 */
export { z } from "@hono/zod-openapi";
