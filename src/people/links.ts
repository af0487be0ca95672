/**
 * Where one-time links point: `${public_url}/invite/<token>`. The public URL is the configured
 * one (KEYWARD_PUBLIC_URL), else the server's own address once it listens (so a server on an
 * ephemeral port still prints a link that works).
 */
export class PublicUrl {
  private listeningPort: number | null = null;

  constructor(
    private readonly configured: string | undefined,
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Called by the server once it knows the port it is bound to (port 0 picks one). */
  bound(port: number): void {
    this.listeningPort = port;
  }

  get origin(): string {
    if (this.configured) return this.configured.replace(/\/+$/, "");
    // A wildcard address is where to listen, not where to browse.
    const host = this.host === "0.0.0.0" || this.host === "::" ? "localhost" : this.host;
    return `http://${host.includes(":") ? `[${host}]` : host}:${this.listeningPort ?? this.port}`;
  }

  invite(token: string): string {
    return `${this.origin}/invite/${token}`;
  }
}
