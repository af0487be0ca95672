import type { SecretBox } from "../crypto/secret-box.js";
import type { UpstreamsTable } from "../store/schema.js";

type RowIdentity = Pick<UpstreamsTable, "id" | "project_id">;

/**
 * The authenticated context a provider key is sealed with: its row's id and project. A
 * ciphertext copied into another row, or a row moved to another project, no longer opens, so a
 * write to the store alone cannot make one project's key serve another.
 */
function context(row: RowIdentity): string {
  return `upstream:${row.id}:${row.project_id}`;
}

/** Encrypts a provider API key for its row (`api_key_cipher`). */
export function sealApiKey(box: SecretBox, row: RowIdentity, apiKey: string): string {
  return box.seal(apiKey, context(row));
}

/** Decrypts a row's provider API key. Throws SecretBoxError when it cannot. */
export function openApiKey(
  box: SecretBox,
  row: RowIdentity & Pick<UpstreamsTable, "api_key_cipher">,
): string {
  return box.open(row.api_key_cipher, context(row));
}
