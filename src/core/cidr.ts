import { BlockList, isIP } from "node:net";

/**
 * Parses an IP or CIDR (`10.0.0.0/8`, `2001:db8::/32`, `203.0.113.7`) into its parts,
 * or returns null when it is not valid.
 */
export function parseCidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | null {
  const [address = "", prefixText, extra] = text.split("/");
  if (extra !== undefined) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > max) return null;
  }
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** Strips the IPv4-mapped IPv6 form (`::ffff:1.2.3.4`) that dual-stack sockets report. */
export function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * Compiles an allowlist once (at cache fill) into a matcher. `null` = no restriction.
 * Invalid entries are impossible here: they were rejected when the key was written.
 */
export function compileIpAllowlist(cidrs: readonly string[] | null): (ip: string | undefined) => boolean {
  if (!cidrs) return () => true;
  const list = new BlockList();
  for (const c of cidrs) {
    const parsed = parseCidr(c);
    if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (ip) => {
    if (!ip) return false;
    const n = normalizeIp(ip);
    const v = isIP(n);
    if (v === 0) return false;
    return list.check(n, v === 4 ? "ipv4" : "ipv6");
  };
}
