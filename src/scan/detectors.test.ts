import { describe, expect, it } from "vitest";
import { fakeKeywardKey, fakeProviderKey, lookAlikeKey } from "../../test/support/secrets.js";
import { defaultDetectors, keywardDetectors, PROVIDER_DETECTORS } from "./detectors.js";
import { Matcher } from "./matcher.js";

/** All (detector id, secret) pairs the default detectors find in `text`. */
function find(text: string, brands: string[] = ["kw"]): Array<{ id: string; secret: string; index: number }> {
  const out: Array<{ id: string; secret: string; index: number }> = [];
  new Matcher(defaultDetectors(brands)).find(text, 0, text.length, (m) =>
    out.push({ id: m.detector.id, secret: m.secret, index: m.index }),
  );
  return out;
}

describe("keyward key detectors", () => {
  it("finds valid keys of every kind, in the usual surroundings", () => {
    for (const kind of ["live", "test", "admin"] as const) {
      const key = fakeKeywardKey(kind);
      for (const text of [
        key,
        `KEYWARD_KEY=${key}\n`,
        `{"key":"${key}"}`,
        `key: '${key}'`,
        `a=1;const k="${key}",b=2`,
        `Bearer ${key}`,
        `(${key})`,
        `url?key=${key}&x=1`,
      ]) {
        expect(find(text), text).toEqual([
          { id: `keyward-${kind}-key`, secret: key, index: text.indexOf(key) },
        ]);
      }
    }
  });

  it("does not report look-alikes whose checksum is wrong", () => {
    for (let i = 0; i < 200; i++) {
      const fake = lookAlikeKey(i % 2 ? "live" : "admin");
      expect(find(`token = "${fake}"`)).toEqual([]);
    }
  });

  it("does not report keys glued into longer tokens, other kinds, or the wrong length", () => {
    const key = fakeKeywardKey("live");
    expect(find(`x${key}`)).toEqual([]); // preceded by a word character
    expect(find(`_${key}`)).toEqual([]);
    expect(find(`${key}0`)).toEqual([]); // one character too long
    expect(find(`${key}_suffix`)).toEqual([]);
    expect(find(key.slice(0, -1))).toEqual([]);
    expect(find(key.replace("_live_", "_prod_"))).toEqual([]);
    expect(find(key.toUpperCase())).toEqual([]);
    // Non-word neighbours are boundaries.
    expect(find(`-${key}-`)).toHaveLength(1);
    expect(find(`é${key}é`)).toHaveLength(1);
  });

  it("honours configured brands, and only them", () => {
    const acme = fakeKeywardKey("live", "acme");
    const kw = fakeKeywardKey("test", "kw");
    expect(find(`${acme} ${kw}`, ["acme"]).map((f) => f.secret)).toEqual([acme]);
    expect(find(`${acme} ${kw}`, ["kw", "acme"]).map((f) => f.secret)).toEqual([acme, kw]);
  });

  it("a brand that collides with another prefix still lets the other detector match", () => {
    // Brand "sk" makes sk_live_… keys; a Stripe key shares the prefix but not the checksum.
    const stripe = fakeProviderKey.stripe();
    const sk = fakeKeywardKey("live", "sk");
    expect(find(`${stripe} ${sk}`, ["sk"])).toEqual([
      { id: "stripe-secret-key", secret: stripe, index: 0 },
      { id: "keyward-live-key", secret: sk, index: stripe.length + 1 },
    ]);
  });

  it("masks keep only the prefix and the last four characters", () => {
    const key = fakeKeywardKey("admin");
    const [d] = keywardDetectors(["kw"]).filter((x) => x.id === "keyward-admin-key");
    expect(d!.mask(key)).toBe(`kw_admin_…${key.slice(-4)}`);
  });
});

describe("provider key detectors", () => {
  const cases: Array<[string, () => string]> = [
    ["openai-api-key", fakeProviderKey.openaiLegacy],
    ["openai-api-key", fakeProviderKey.openaiProject],
    ["openai-api-key", fakeProviderKey.openaiService],
    ["openai-admin-key", fakeProviderKey.openaiAdmin],
    ["anthropic-api-key", fakeProviderKey.anthropic],
    ["anthropic-admin-key", fakeProviderKey.anthropicAdmin],
    ["github-token", fakeProviderKey.github],
    ["github-fine-grained-pat", fakeProviderKey.githubFineGrained],
    ["gitlab-pat", fakeProviderKey.gitlab],
    ["aws-access-key-id", fakeProviderKey.aws],
    ["stripe-secret-key", fakeProviderKey.stripe],
    ["slack-token", fakeProviderKey.slack],
  ];

  it.each(cases)("finds %s", (id, make) => {
    for (let i = 0; i < 20; i++) {
      const secret = make();
      const text = `export API_KEY="${secret}"\n`;
      expect(find(text)).toEqual([{ id, secret, index: text.indexOf(secret) }]);
    }
  });

  it("OpenAI: sk- strings without the T3BlbkFJ marker are not reported", () => {
    for (let i = 0; i < 20; i++) expect(find(`key=${fakeProviderKey.openaiNoMarker()}`)).toEqual([]);
    expect(find("sk-not-a-key task-list risk-free desk-lamp")).toEqual([]);
  });

  it("AWS documentation examples are not reported", () => {
    expect(find("aws_access_key_id = AKIAIOSFODNN7EXAMPLE")).toEqual([]);
  });

  it("no mask reveals more than a fixed prefix and four characters", () => {
    for (const [id, make] of cases) {
      const secret = make();
      const d = PROVIDER_DETECTORS.find((x) => x.id === id)!;
      const masked = d.mask(secret);
      expect(masked.endsWith(`…${secret.slice(-4)}`)).toBe(true);
      expect(masked.length).toBeLessThanOrEqual(20);
    }
  });

  it("the longest OpenAI key fits maxLength exactly; one more character is not a key", () => {
    const d = PROVIDER_DETECTORS.find((x) => x.id === "openai-api-key")!;
    const longest = `sk-${"a".repeat(200)}T3BlbkFJ${"b".repeat(200)}`;
    expect(longest.length).toBe(d.maxLength);
    expect(find(` ${longest} `).map((f) => f.secret)).toEqual([longest]);
    expect(find(` ${longest}b `)).toEqual([]);
  });
});
