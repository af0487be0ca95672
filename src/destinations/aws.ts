import { createHash } from "node:crypto";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from "@aws-sdk/client-secrets-manager";
import { shortError, type PushRequest, type PushResult, type SecretWriter } from "./writer.js";

/**
 * AWS Secrets Manager through the official SDK (SigV4, endpoints, the JSON protocol). The
 * SDK's own retries are off: the push outbox retries on its schedule, and one attempt stays
 * bounded by the timeout. The client request token derives from the push id, so an attempt
 * whose answer was lost and is retried writes no second version.
 */
export const awsSecretsManagerWriter: SecretWriter = async (req) => {
  if (req.config.kind !== "aws_secrets_manager" || req.credentials.kind !== "aws_secrets_manager")
    return { ok: false, error: "not an AWS Secrets Manager destination" };
  const { config, credentials } = req;
  const options: SecretsManagerClientConfig = {
    region: config.region,
    maxAttempts: 1,
    requestHandler: { requestTimeout: req.timeoutMs, connectionTimeout: req.timeoutMs },
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(credentials.access_key_id && credentials.secret_access_key
      ? {
          credentials: {
            accessKeyId: credentials.access_key_id,
            secretAccessKey: credentials.secret_access_key,
            ...(credentials.session_token ? { sessionToken: credentials.session_token } : {}),
          },
        }
      : {}),
  };
  const client = new SecretsManagerClient(options);
  try {
    return await put(client, req, config.secret_id, config.json_key);
  } catch (err) {
    return { ok: false, error: describeAwsError(err) };
  } finally {
    client.destroy();
  }
};

async function put(
  client: SecretsManagerClient,
  req: PushRequest,
  secretId: string,
  jsonKey: string | null,
): Promise<PushResult> {
  const token = createHash("sha256").update(req.pushId).digest("hex").slice(0, 40);
  let value = req.secret;
  if (jsonKey !== null) {
    const current = await readJson(client, secretId);
    if (!current.ok) return current;
    value = JSON.stringify({ ...current.value, [jsonKey]: req.secret });
  }
  try {
    await client.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: value, ClientRequestToken: token }),
    );
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    await client.send(
      new CreateSecretCommand({
        Name: secretId,
        SecretString: value,
        ClientRequestToken: token,
        Description: `keyward key ${req.key.id} (${req.key.name})`,
      }),
    );
  }
  return { ok: true };
}

/** The secret's current JSON object (empty when the secret does not exist yet). */
async function readJson(
  client: SecretsManagerClient,
  secretId: string,
): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; error: string }> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return { ok: true, value: {} };
    throw err;
  }
  if (text === undefined || text === "") return { ok: true, value: {} };
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
      return { ok: true, value: parsed as Record<string, unknown> };
  } catch {
    // fall through: not JSON
  }
  return {
    ok: false,
    error: "the secret's current value is not a JSON object; json_key cannot merge into it",
  };
}

/** `AccessDeniedException: …`, `TimeoutError`, `ECONNREFUSED`: the cause, never the value. */
function describeAwsError(err: unknown): string {
  if (!(err instanceof Error)) return "request failed";
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && !err.message.includes(code)) return shortError(`${code}: ${err.message}`);
  return shortError(err.name && err.name !== "Error" ? `${err.name}: ${err.message}` : err.message);
}
