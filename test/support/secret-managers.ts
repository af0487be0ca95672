import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Stand-ins for the secret managers rotation push writes to, speaking just the calls keyward
 * (and an application reading its secret) uses: Vault's KV v2 HTTP API, and the AWS Secrets
 * Manager JSON protocol with a check of the SigV4 signature's presence and scope. `down` makes
 * either answer 503, as a sealed Vault or an AWS outage would.
 */

interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
  status: number;
}

abstract class StandIn {
  requests: Recorded[] = [];
  down = false;
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected abstract handle(req: IncomingMessage, body: string): { status: number; body: unknown };

  async listen(): Promise<this> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const out = this.down ? { status: 503, body: this.downBody() } : this.handle(req, body);
        this.requests.push({
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body,
          status: out.status,
        });
        res.writeHead(out.status, { "content-type": "application/json" }).end(JSON.stringify(out.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  protected abstract downBody(): unknown;

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Vault KV v2: GET, POST (write) and PATCH (merge-patch) on `/v1/<mount>/data/<path>`, token-checked. */
export class VaultStandIn extends StandIn {
  readonly secrets = new Map<string, { data: Record<string, unknown>; version: number }>();

  constructor(
    readonly token: string,
    readonly mount = "secret",
  ) {
    super();
  }

  protected downBody(): unknown {
    return { errors: ["Vault is sealed"] };
  }

  /** The field's current value at a path (what an application reads). */
  field(path: string, field: string): unknown {
    return this.secrets.get(path)?.data[field];
  }

  protected handle(req: IncomingMessage, body: string): { status: number; body: unknown } {
    if (req.headers["x-vault-token"] !== this.token)
      return { status: 403, body: { errors: ["permission denied"] } };
    const prefix = `/v1/${this.mount}/data/`;
    const url = req.url ?? "";
    if (!url.startsWith(prefix)) return { status: 404, body: { errors: [] } };
    const path = url.slice(prefix.length);
    const current = this.secrets.get(path);
    const meta = (version: number) => ({
      version,
      created_time: new Date().toISOString(),
      deletion_time: "",
      destroyed: false,
    });
    switch (req.method) {
      case "GET":
        return current
          ? { status: 200, body: { data: { data: current.data, metadata: meta(current.version) } } }
          : { status: 404, body: { errors: [] } };
      case "POST":
      case "PATCH": {
        const contentType = req.headers["content-type"] ?? "";
        if (req.method === "PATCH" && contentType !== "application/merge-patch+json")
          return {
            status: 400,
            body: { errors: ["PATCH requires Content-Type application/merge-patch+json"] },
          };
        let parsed: { data?: Record<string, unknown> };
        try {
          parsed = JSON.parse(body) as { data?: Record<string, unknown> };
        } catch {
          return { status: 400, body: { errors: ["failed to parse JSON input"] } };
        }
        if (!parsed.data || typeof parsed.data !== "object")
          return { status: 400, body: { errors: ["no data provided"] } };
        if (req.method === "PATCH" && !current) return { status: 404, body: { errors: [] } };
        const data = req.method === "PATCH" ? mergePatch(current!.data, parsed.data) : parsed.data;
        const version = (current?.version ?? 0) + 1;
        this.secrets.set(path, { data, version });
        return { status: 200, body: { data: meta(version) } };
      }
      default:
        return { status: 405, body: { errors: [] } };
    }
  }
}

function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** AWS Secrets Manager: CreateSecret, PutSecretValue and GetSecretValue over the JSON 1.1 protocol. */
export class SecretsManagerStandIn extends StandIn {
  readonly secrets = new Map<string, { value: string; versions: Map<string, string>; current: string }>();
  /** Why requests were refused by the signature check (empty when all were signed right). */
  readonly signatureProblems: string[] = [];

  constructor(
    readonly accessKeyId: string,
    readonly region: string,
  ) {
    super();
  }

  protected downBody(): unknown {
    return { __type: "ServiceUnavailableException", message: "Service is unavailable" };
  }

  value(name: string): string | undefined {
    return this.secrets.get(name)?.value;
  }

  private fail(status: number, type: string, message: string) {
    return { status, body: { __type: `com.amazonaws.secretsmanager#${type}`, message } };
  }

  /** The signature's presence and scope: key id, date, region, service, signed headers. */
  private signatureProblem(req: IncomingMessage): string | null {
    const auth = req.headers.authorization;
    if (!auth) return "no Authorization header";
    const m = SIGV4.exec(auth);
    if (!m) return `not a SigV4 Authorization header: ${auth.slice(0, 40)}`;
    const [, keyId, date, region, service, signed] = m;
    const amzDate = req.headers["x-amz-date"];
    if (keyId !== this.accessKeyId) return `signed with key ${keyId}`;
    if (typeof amzDate !== "string" || !amzDate.startsWith(date!))
      return "scope date does not match x-amz-date";
    if (region !== this.region) return `scope region ${region}`;
    if (service !== "secretsmanager") return `scope service ${service}`;
    const headers = signed!.split(";");
    for (const h of ["host", "x-amz-date", "x-amz-target", "content-type"])
      if (!headers.includes(h)) return `${h} is not signed`;
    return null;
  }

  protected handle(req: IncomingMessage, body: string): { status: number; body: unknown } {
    const problem = this.signatureProblem(req);
    if (problem) {
      this.signatureProblems.push(problem);
      return this.fail(403, "InvalidSignatureException", problem);
    }
    if (req.headers["content-type"] !== "application/x-amz-json-1.1")
      return this.fail(400, "SerializationException", "expected application/x-amz-json-1.1");
    const target = req.headers["x-amz-target"];
    const input = JSON.parse(body) as {
      SecretId?: string;
      Name?: string;
      SecretString?: string;
      ClientRequestToken?: string;
    };
    const arn = (name: string) => `arn:aws:secretsmanager:${this.region}:123456789012:secret:${name}-AbCdEf`;
    switch (target) {
      case "secretsmanager.GetSecretValue": {
        const s = this.secrets.get(input.SecretId ?? "");
        if (!s)
          return this.fail(
            400,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
          );
        return {
          status: 200,
          body: {
            ARN: arn(input.SecretId!),
            Name: input.SecretId,
            SecretString: s.value,
            VersionId: s.current,
            VersionStages: ["AWSCURRENT"],
          },
        };
      }
      case "secretsmanager.PutSecretValue": {
        const s = this.secrets.get(input.SecretId ?? "");
        if (!s)
          return this.fail(
            400,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
          );
        const token = input.ClientRequestToken ?? String(s.versions.size + 1);
        if (!s.versions.has(token)) {
          s.versions.set(token, input.SecretString ?? "");
          s.value = input.SecretString ?? "";
          s.current = token;
        }
        return {
          status: 200,
          body: {
            ARN: arn(input.SecretId!),
            Name: input.SecretId,
            VersionId: token,
            VersionStages: ["AWSCURRENT"],
          },
        };
      }
      case "secretsmanager.CreateSecret": {
        const name = input.Name ?? "";
        if (this.secrets.has(name))
          return this.fail(400, "ResourceExistsException", "the secret already exists");
        const token = input.ClientRequestToken ?? "1";
        this.secrets.set(name, {
          value: input.SecretString ?? "",
          versions: new Map([[token, input.SecretString ?? ""]]),
          current: token,
        });
        return { status: 200, body: { ARN: arn(name), Name: name, VersionId: token } };
      }
      default:
        return this.fail(400, "UnknownOperationException", `unknown operation ${String(target)}`);
    }
  }
}
