/**
 * What the gateway needs to call a provider: where, and with which credential. The API key here
 * is decrypted; it lives only in memory and is sent only to `baseUrl`.
 */
export interface ResolvedUpstream {
  /** The upstream record's id, or null for the default upstream from configuration. */
  id: string | null;
  /** Base URL including the API version path, e.g. `https://api.openai.com/v1`. No trailing slash. */
  baseUrl: string;
  apiKey: string;
  organization: string | null;
  project: string | null;
}

/**
 * Answers "which upstream serves this project?" synchronously from memory, so the gateway's hot
 * path never waits on the store. Implementations preload at start-up and refresh on change.
 */
export interface UpstreamDirectory {
  forProject(projectId: string): ResolvedUpstream | null;
}
