import { z } from "@hono/zod-openapi";
import { ID_PREFIX } from "../../core/ids.js";
import {
  API_KEY_MAX,
  apiKeyProblem,
  BASE_URL_MAX,
  HEADER_VALUE_MAX,
  headerValueProblem,
  normalizeBaseUrl,
  PRIORITY_MAX,
} from "../../upstreams/validate.js";
import { Name } from "../schemas.js";

/**
 * Schemas of the upstream credential routes. The provider key is accepted in requests and never
 * part of a response: responses carry only `masked_api_key`.
 */

/** A string checked by one of the pure validators in upstreams/validate.ts (field-level 400s). */
const checkedBy = (max: number, problemOf: (s: string) => string | null) =>
  z
    .string()
    .max(max)
    .superRefine((v, ctx) => {
      const problem = problemOf(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

export const UpstreamId = z
  .string()
  .regex(
    new RegExp(`^${ID_PREFIX.upstream}_[0-9A-HJKMNP-TV-Z]{26}$`),
    `must be an upstream id (${ID_PREFIX.upstream}_…)`,
  )
  .openapi({ example: `${ID_PREFIX.upstream}_01JD3ZK5Q8XW2V7N4M6B9C1D2E` });

export const UpstreamIdParam = z.object({
  upstream_id: UpstreamId.openapi({ param: { name: "upstream_id", in: "path" } }),
});

const BaseUrl = checkedBy(BASE_URL_MAX, (v) => {
  const r = normalizeBaseUrl(v);
  return r.ok ? null : r.problem;
}).openapi({
  description: "Base URL including the API version path; http(s), no credentials, query or fragment.",
  example: "https://api.openai.com/v1",
});

const ApiKey = checkedBy(API_KEY_MAX, apiKeyProblem).openapi({
  description: "The provider API key. Encrypted at rest; never returned (responses show masked_api_key).",
  example: "sk-proj-…",
});

const HeaderValue = (header: string) =>
  checkedBy(HEADER_VALUE_MAX, headerValueProblem).openapi({
    description: `Sent upstream as the ${header} header.`,
  });

const Priority = z.number().int().min(0).max(PRIORITY_MAX).openapi({
  description: "Lower wins: a project is served by its upstream with the lowest priority value.",
});

export const UpstreamSchema = z
  .object({
    id: z.string(),
    object: z.literal("upstream"),
    project_id: z.string(),
    name: z.string(),
    base_url: z.string(),
    masked_api_key: z.string().openapi({ example: "sk-…abcd" }),
    organization: z.string().nullable(),
    project: z.string().nullable(),
    priority: z.number(),
    created_at: z.string(),
    created_by: z.string(),
    updated_at: z.string(),
  })
  .openapi("Upstream");

export const UpstreamListSchema = z.object({ object: z.literal("list"), data: z.array(UpstreamSchema) });

export const CreateUpstreamBody = z
  .object({
    name: Name,
    base_url: BaseUrl,
    api_key: ApiKey,
    organization: HeaderValue("OpenAI-Organization").nullable().optional(),
    project: HeaderValue("OpenAI-Project").nullable().optional(),
    priority: Priority.optional(),
  })
  .strict()
  .openapi("CreateUpstream");

export const UpdateUpstreamBody = z
  .object({
    name: Name.optional(),
    base_url: BaseUrl.optional(),
    api_key: ApiKey.optional(),
    organization: HeaderValue("OpenAI-Organization").nullable().optional(),
    project: HeaderValue("OpenAI-Project").nullable().optional(),
    priority: Priority.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "nothing to update: give at least one field")
  .openapi("UpdateUpstream");
