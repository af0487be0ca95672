import { useCallback, useEffect, useState } from "react";
import { Link } from "wouter";
import { errorMessage, type Key } from "../api/client";
import { can, canManageKey, useSession } from "../api/context";
import { ErrorText } from "../components/ErrorText";
import { KeyActions } from "../components/KeyActions";
import { KeyAudit, KeyIps } from "../components/KeyActivity";
import { KeyBudget } from "../components/KeyBudget";
import { KeyUsage } from "../components/KeyUsage";
import { describeCreator, describePermissions, formatDate } from "../format";

const list = (items: string[] | null, none: string) => (items?.length ? items.join(", ") : none);

/** One key: what it is, its usage, limits and budget, where it was used from, its audit trail, actions. */
export function KeyDetail({ keyId }: { keyId: string }) {
  const { api, user } = useSession();
  const [key, setKey] = useState<Key | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Bumped after each action, so the audit trail shows the entry the action wrote.
  const [version, setVersion] = useState(0);
  useEffect(() => {
    void api
      .GET("/api/v1/keys/{key_id}", { params: { path: { key_id: keyId } } })
      .then((r) => (r.data ? setKey(r.data) : setError(errorMessage(r.error, r.response))));
  }, [api, keyId]);
  const changed = useCallback((next: Key) => {
    setKey(next);
    setVersion((v) => v + 1);
  }, []);

  if (!key)
    return (
      <>
        <h1>API key</h1>
        {error ? <ErrorText message={error} /> : <p>Loading…</p>}
      </>
    );
  return (
    <>
      <p>
        <Link href={`/projects/${key.project_id}`}>← API keys</Link>
      </p>
      <h1>{key.name}</h1>
      <p>
        <span className="status">{key.status}</span>
      </p>
      {canManageKey(user, key) ? <KeyActions apiKey={key} onChanged={changed} /> : null}
      <dl className="facts">
        <dt>Key</dt>
        <dd className="mono">{key.masked_key}</dd>
        <dt>Status</dt>
        <dd>{key.status}</dd>
        <dt>Environment</dt>
        <dd>{key.environment}</dd>
        <dt>Permissions</dt>
        <dd>{describePermissions(key.permissions)}</dd>
        <dt>Allowed models</dt>
        <dd>{list(key.allowed_models, "All models")}</dd>
        <dt>Allowed IPs</dt>
        <dd>{list(key.allowed_ips, "Any IP")}</dd>
        <dt>Created by</dt>
        <dd>{describeCreator(key, user)}</dd>
        <dt>Created</dt>
        <dd>{formatDate(key.created_at)}</dd>
        <dt>Last used</dt>
        <dd>{key.last_used_at ? formatDate(key.last_used_at) : "Never"}</dd>
        <dt>Expires</dt>
        <dd>{key.expires_at ? formatDate(key.expires_at) : "Never"}</dd>
        <dt>Rotate by</dt>
        <dd>{key.rotate_by ? formatDate(key.rotate_by) : "No rotation deadline"}</dd>
        {key.revoked_at ? (
          <>
            <dt>Revoked</dt>
            <dd>
              {formatDate(key.revoked_at)}
              {key.revoked_reason ? ` (${key.revoked_reason})` : ""}
            </dd>
          </>
        ) : null}
      </dl>
      <KeyUsage keyId={key.id} />
      <KeyBudget apiKey={key} />
      <KeyIps keyId={key.id} version={version} />
      {can(user, "read-audit") ? <KeyAudit keyId={key.id} version={version} /> : null}
    </>
  );
}
