import { describeFetchError } from "../alerts/sender.js";
import { shortError, type PushResult, type SecretWriter } from "./writer.js";

/**
 * HashiCorp Vault KV v2 over its HTTP API. The field is merged into the secret with a JSON
 * merge-patch, so the secret's other fields stay; a secret that does not exist yet is created
 * with a plain write.
 */
export const vaultKv2Writer: SecretWriter = async (req) => {
  if (req.config.kind !== "vault_kv2" || req.credentials.kind !== "vault_kv2")
    return { ok: false, error: "not a Vault KV v2 destination" };
  const { config } = req;
  const url = `${config.address}/v1/${config.mount}/data/${config.path}`;
  const headers: Record<string, string> = {
    "x-vault-token": req.credentials.token,
    "user-agent": "keyward-push/1",
    ...(config.namespace ? { "x-vault-namespace": config.namespace } : {}),
  };
  const body = JSON.stringify({ data: { [config.field]: req.secret } });
  const send = (method: "PATCH" | "POST", contentType: string) =>
    call(url, method, { ...headers, "content-type": contentType }, body, req.timeoutMs);
  const patched = await send("PATCH", "application/merge-patch+json");
  if (patched.ok || patched.status !== 404) return patched.result;
  return (await send("POST", "application/json")).result;
};

async function call(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ ok: boolean; status: number | null; result: PushResult }> {
  try {
    const res = await fetch(url, {
      method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text().catch(() => "");
    if (res.ok) return { ok: true, status: res.status, result: { ok: true } };
    return { ok: false, status: res.status, result: { ok: false, error: vaultError(res.status, text) } };
  } catch (err) {
    return { ok: false, status: null, result: { ok: false, error: describeFetchError(err, timeoutMs) } };
  }
}

/** `HTTP 403: permission denied`, from Vault's `{"errors": [...]}` envelope when it has one. */
function vaultError(status: number, text: string): string {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0)
      return shortError(`HTTP ${status}: ${parsed.errors.map(String).join("; ")}`);
  } catch {
    // not Vault's envelope
  }
  return `HTTP ${status}`;
}
