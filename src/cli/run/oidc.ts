import { CliError } from "../errors.js";

/** Where `keyward run --oidc` gets the CI's token, and for which audience. */
export interface OidcSource {
  audience: string;
  /** A variable holding a ready token (GitLab's `id_tokens`, or any CI's). */
  tokenEnv: string;
}

/**
 * The CI's OIDC token: from `tokenEnv` if set, else from GitHub Actions' token endpoint
 * (`ACTIONS_ID_TOKEN_REQUEST_URL` + `_TOKEN`, present with `permissions: id-token: write`).
 */
export async function ciToken(source: OidcSource, env: NodeJS.ProcessEnv): Promise<string> {
  const ready = env[source.tokenEnv];
  if (ready) return ready;
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer)
    throw new CliError(
      `--oidc: no token: set ${source.tokenEnv} (GitLab: id_tokens), or on GitHub Actions grant permissions: id-token: write`,
      2,
    );
  const u = new URL(url);
  u.searchParams.set("audience", source.audience);
  const res = await fetch(u, {
    headers: { authorization: `bearer ${bearer}` },
    signal: AbortSignal.timeout(10_000),
  }).catch((err: unknown) => {
    throw new CliError(
      `--oidc: cannot reach GitHub's token endpoint: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  const body = (await res.json().catch(() => null)) as { value?: unknown } | null;
  if (!res.ok || typeof body?.value !== "string")
    throw new CliError(`--oidc: GitHub's token endpoint answered ${res.status}`);
  return body.value;
}
