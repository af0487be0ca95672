import { awsSecretsManagerWriter } from "./aws.js";
import { vaultKv2Writer } from "./vault.js";
import { webhookWriter } from "./webhook.js";
import type { SecretWriters } from "./writer.js";

/** The real client of each destination kind. */
export const SECRET_WRITERS: SecretWriters = {
  aws_secrets_manager: awsSecretsManagerWriter,
  vault_kv2: vaultKv2Writer,
  webhook: webhookWriter,
};
