import type { z } from "@hono/zod-openapi";
import { ErrorSchema } from "./schemas.js";

/** The error responses every authenticated route can give, for the OpenAPI document. */
export const ERROR_RESPONSES = {
  400: {
    description: "Invalid request (bad JSON, wrong types, unknown fields, bad id)",
    content: { "application/json": { schema: ErrorSchema } },
  },
  401: {
    description: "Missing or invalid admin key or session",
    content: { "application/json": { schema: ErrorSchema } },
  },
  403: {
    description: "The role does not allow this, or csrf_rejected for a cross-site request",
    content: { "application/json": { schema: ErrorSchema } },
  },
  404: { description: "Not found", content: { "application/json": { schema: ErrorSchema } } },
  409: {
    description: "Conflicts with the current state",
    content: { "application/json": { schema: ErrorSchema } },
  },
  413: { description: "Body too large", content: { "application/json": { schema: ErrorSchema } } },
} as const;

/** A JSON request body. `required: false` lets clients send no body at all. */
export function jsonBody<T extends z.ZodType>(schema: T, required = true) {
  return { content: { "application/json": { schema } }, required };
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

/** Every management route takes an admin key or a person's session, with the same role checks. */
export const SECURITY: Array<Record<string, string[]>> = [{ AdminKey: [] }, { SessionCookie: [] }];
