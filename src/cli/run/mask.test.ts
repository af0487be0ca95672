import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SecretMask } from "./mask.js";

async function masked(chunks: string[], secret: string, mask = "****"): Promise<string> {
  const out: Buffer[] = [];
  const m = Readable.from(chunks.map((c) => Buffer.from(c))).pipe(new SecretMask(secret, mask));
  for await (const c of m) out.push(c as Buffer);
  return Buffer.concat(out).toString();
}

describe("SecretMask", () => {
  const secret = "kw_live_abcdefSECRET123";

  it("masks whole and repeated occurrences, and leaves everything else as it was", async () => {
    expect(await masked([`key=${secret} again ${secret}${secret}.`], secret)).toBe(
      "key=**** again ********.",
    );
    expect(await masked(["no secret here, kw_live_ alone"], secret)).toBe("no secret here, kw_live_ alone");
  });

  it("masks an occurrence split across chunks, even one byte at a time", async () => {
    const text = `a${secret}b${secret}`;
    expect(await masked([...text], secret)).toBe("a****b****");
    expect(await masked(["x kw_live_abc", "defSECRET1", "23 y"], secret)).toBe("x **** y");
  });

  it("passes a tail that only looks like the secret's start through at the end", async () => {
    expect(await masked(["ends with kw_live_ab"], secret)).toBe("ends with kw_live_ab");
  });

  it("never lets the secret through, however the output is chunked", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant(secret), fc.string({ maxLength: 12 })), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 30 }),
        async (pieces, cuts) => {
          const text = pieces.join("");
          const chunks: string[] = [];
          for (let i = 0, c = 0; i < text.length; c++) {
            const n = cuts[c % cuts.length]!;
            chunks.push(text.slice(i, i + n));
            i += n;
          }
          const out = await masked(chunks, secret);
          expect(out).toBe(text.split(secret).join("****"));
        },
      ),
      { numRuns: 200 },
    );
  });
});
