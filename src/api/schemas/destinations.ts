import { z } from "@hono/zod-openapi";
import { DESTINATIONS_PER_KEY_MAX } from "../../destinations/model.js";
import { ID_PREFIX } from "../../core/ids.js";

/**
 * Schemas of secret destinations (rotation push). Credentials are accepted in requests and
 * never returned; a webhook destination's signing secret is returned once, when it is added.
 * The service checks URLs, regions and paths again (and names each problem).
 */

const text = (max: number) => z.string().min(1).max(max);

const Aws = z
  .object({
    kind: z.literal("aws_secrets_manager"),
    region: text(32).openapi({ example: "eu-west-1" }),
    secret_id: text(2048).openapi({ example: "prod/app/openai" }),
    json_key: text(256)
      .optional()
      .openapi({ description: "Store the key as this field of a JSON secret (other fields kept)." }),
    endpoint: text(2048)
      .optional()
      .openapi({ description: "A VPC endpoint; default: the region's endpoint." }),
    access_key_id: text(128).optional(),
    secret_access_key: text(256).optional(),
    session_token: text(4096).optional(),
  })
  .strict()
  .openapi("AwsSecretsManagerDestination", {
    description:
      "Without access_key_id/secret_access_key, the server's default AWS credential chain is used.",
  });

const Vault = z
  .object({
    kind: z.literal("vault_kv2"),
    address: text(2048).openapi({ example: "https://vault.example.com:8200" }),
    mount: text(256).optional().openapi({ description: "KV v2 mount (default secret)" }),
    path: text(1024).openapi({ example: "apps/billing" }),
    field: text(256)
      .optional()
      .openapi({ description: "Field holding the key (default OPENAI_API_KEY); other fields kept." }),
    namespace: text(256).optional(),
    token: text(4096),
  })
  .strict()
  .openapi("VaultKv2Destination");

const Webhook = z
  .object({ kind: z.literal("webhook"), url: text(2048) })
  .strict()
  .openapi("WebhookDestination", {
    description: "Receives a signed POST (keyward-signature, like alert webhooks) with the new secret.",
  });

export const DestinationInputSchema = z
  .discriminatedUnion("kind", [Aws, Vault, Webhook])
  .openapi("DestinationInput");

export const DestinationList = z.array(DestinationInputSchema).max(DESTINATIONS_PER_KEY_MAX);

export const DestinationIdParam = z.object({
  destination_id: z
    .string()
    .regex(
      new RegExp(`^${ID_PREFIX.destination}_[0-9A-HJKMNP-TV-Z]{26}$`),
      "must be a destination id (dst_…)",
    )
    .openapi({ param: { name: "destination_id", in: "path" } }),
});

export const PushSchema = z
  .object({
    id: z.string(),
    destination_id: z.string(),
    reason: z.enum(["created", "rotated"]),
    masked_key: z.string(),
    status: z.enum(["pending", "delivered", "failed", "superseded", "cancelled"]),
    attempts: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi("SecretPush");

export const DestinationSchema = z
  .object({
    id: z.string(),
    object: z.literal("destination"),
    key_id: z.string(),
    config: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The destination's settings, never a credential." }),
    created_at: z.string(),
    created_by: z.string(),
    last_push: PushSchema.nullable(),
  })
  .openapi("Destination");

export const AddedDestinationSchema = DestinationSchema.extend({
  signing_secret: z
    .string()
    .optional()
    .openapi({ description: "Webhook destinations: the signing secret, shown once." }),
}).openapi("AddedDestination");

export const DestinationListSchema = z.object({
  object: z.literal("list"),
  data: z.array(DestinationSchema),
});
