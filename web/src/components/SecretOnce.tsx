import { useState } from "react";

/**
 * A new secret, shown once: Copy, the warning, and (for a gateway key) ready snippets. The secret
 * lives only in the props of this component; when the dialog closes, its parent drops it.
 */
export function SecretOnce({
  secret,
  onDone,
  kind = "key",
}: {
  secret: string;
  onDone(): void;
  /**
   * "key": a gateway key, with the SDK snippets; "admin": an admin key, with the CLI's;
   * "signing": a webhook's signing secret, with none.
   */
  kind?: "key" | "signing" | "admin";
}) {
  const [copied, setCopied] = useState(false);
  const base = `${window.location.origin}/v1`;
  const copy = async () => {
    await navigator.clipboard.writeText(secret);
    setCopied(true);
  };
  const label = kind === "signing" ? "Signing secret" : "Your new key";
  return (
    <div className="secret">
      <p className="warning">
        {kind === "signing"
          ? "Copy this signing secret now. It will not be shown again: your receiver needs it to check each delivery's signature."
          : "Copy this key now. It will not be shown again: keyward stores only its hash."}
      </p>
      <label htmlFor="new-secret">{label}</label>
      <div className="copy-row">
        <input id="new-secret" readOnly value={secret} className="mono" onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p aria-live="polite">{copied ? "Copied to the clipboard." : ""}</p>
      {kind === "admin" ? (
        <details>
          <summary>Use it</summary>
          <h3>CLI</h3>
          <pre>{`export KEYWARD_URL=${window.location.origin}\nexport KEYWARD_ADMIN_KEY=${secret}\nkeyward keys list --json`}</pre>
        </details>
      ) : kind === "key" ? (
        <details>
          <summary>Use it</summary>
          <h3>.env</h3>
          <pre>{`OPENAI_API_KEY=${secret}\nOPENAI_BASE_URL=${base}`}</pre>
          <h3>Python</h3>
          <pre>{`from openai import OpenAI\nclient = OpenAI(api_key="${secret}", base_url="${base}")`}</pre>
          <h3>Node.js</h3>
          <pre>{`import OpenAI from "openai";\nconst client = new OpenAI({ apiKey: "${secret}", baseURL: "${base}" });`}</pre>
          <h3>curl</h3>
          <pre>{`curl ${base}/chat/completions \\\n  -H "Authorization: Bearer ${secret}" \\\n  -H "Content-Type: application/json" \\\n  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`}</pre>
        </details>
      ) : null}
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}
