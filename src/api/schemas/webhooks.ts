import { z } from "@hono/zod-openapi";
import { EVENT_FILTERS_MAX, EVENT_TYPES, isValidEventFilter } from "../../alerts/catalogue.js";
import { normalizeWebhookUrl, WEBHOOK_URL_MAX } from "../../alerts/webhook-model.js";
import { ID_PREFIX } from "../../core/ids.js";
import { ProjectId } from "../schemas.js";

/**
 * Schemas of the webhook routes. The URL and signing secret are accepted in requests; responses
 * carry only `masked_url` and `masked_secret` (the secret in full once, at creation).
 */

const idOf = (prefix: string, name: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`), `must be a ${name} id (${prefix}_…)`)
    .openapi({ example: `${prefix}_01JD3ZK5Q8XW2V7N4M6B9C1D2E` });

export const WebhookId = idOf(ID_PREFIX.webhook, "webhook");
const DeliveryId = idOf(ID_PREFIX.delivery, "delivery");

export const WebhookIdParam = z.object({
  webhook_id: WebhookId.openapi({ param: { name: "webhook_id", in: "path" } }),
});

const Url = z
  .string()
  .max(WEBHOOK_URL_MAX)
  .superRefine((v, ctx) => {
    const r = normalizeWebhookUrl(v);
    if (!r.ok) ctx.addIssue({ code: "custom", message: r.problem });
  })
  .openapi({
    description:
      "Where alerts are POSTed (http or https). Encrypted at rest and shown masked: it may carry a token.",
    example: "https://hooks.example.com/keyward",
  });

const EventTypes = z
  .array(
    z
      .string()
      .max(64)
      .refine(isValidEventFilter, "must be `*`, a known event type, or `prefix.*` (e.g. key.*)"),
  )
  .min(1)
  .max(EVENT_FILTERS_MAX)
  .openapi({
    description: `Event types to deliver: \`*\` (default), exact types or \`prefix.*\`. Types: ${EVENT_TYPES.join(", ")}.`,
    example: ["budget.*", "key.expiring", "usage.anomaly"],
  });

const Description = z
  .string()
  .max(500)
  .refine(
    (s) => !s.includes("\u0000") && !/[\uD800-\uDFFF]/u.test(s),
    "must be valid Unicode text without NUL",
  )
  .nullable();

export const WebhookSchema = z
  .object({
    id: z.string(),
    object: z.literal("webhook"),
    project_id: z
      .string()
      .nullable()
      .openapi({ description: "Only this project's events; null: all events" }),
    description: z.string().nullable(),
    masked_url: z.string().openapi({ example: "https://hooks.slack.com/services/…" }),
    masked_secret: z.string().openapi({ example: "whsec_…a1B2" }),
    event_types: z.array(z.string()),
    enabled: z.boolean(),
    created_at: z.string(),
    created_by: z.string(),
    updated_at: z.string(),
  })
  .openapi("Webhook");

export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z.string().openapi({
    description: "The signing secret (whsec_…). Returned only in this response; store it now.",
  }),
}).openapi("WebhookWithSecret");

export const WebhookListSchema = z.object({ object: z.literal("list"), data: z.array(WebhookSchema) });

export const CreateWebhookBody = z
  .object({
    url: Url,
    project_id: ProjectId.nullable().optional(),
    description: Description.optional(),
    event_types: EventTypes.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .openapi("CreateWebhook");

export const UpdateWebhookBody = z
  .object({
    url: Url.optional(),
    project_id: ProjectId.nullable().optional(),
    description: Description.optional(),
    event_types: EventTypes.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "nothing to update: give at least one field")
  .openapi("UpdateWebhook");

export const ListWebhooksQuery = z.object({ project_id: ProjectId.optional() });

export const DeliverySchema = z
  .object({
    id: z.string(),
    object: z.literal("webhook_delivery"),
    webhook_id: z.string(),
    event_id: z.string().openapi({ description: "The receiver's idempotency id (keyward-webhook-id)" }),
    type: z.string(),
    attempt: z.number(),
    status_code: z.number().nullable(),
    duration_ms: z.number(),
    error: z.string().nullable(),
    outcome: z.enum(["delivered", "retrying", "failed"]),
    next_retry_at: z.string().nullable(),
    attempted_at: z.string(),
  })
  .openapi("WebhookDelivery");

export const DeliveryListSchema = z.object({
  object: z.literal("list"),
  data: z.array(DeliverySchema),
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
});

export const ListDeliveriesQuery = z.object({
  after: DeliveryId.optional().openapi({ description: "The previous page's next_cursor (newest first)" }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const WebhookTestSchema = z
  .object({
    object: z.literal("webhook_test"),
    event_id: z.string(),
    delivered: z.boolean(),
    delivery: DeliverySchema.nullable(),
  })
  .openapi("WebhookTest");

export const EventTypeListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({
        type: z.string(),
        kind: z.enum(["rule", "lifecycle"]).openapi({
          description: "rule: raised by keyward's alert rules; lifecycle: an audited change, forwarded",
        }),
      }),
    ),
    budget_thresholds_percent: z.array(z.number()).openapi({
      description: "The budget.threshold alerts: fixed percentages of a budget, each raised once per period",
    }),
  })
  .openapi("WebhookEventTypes");
