import { describe, expect, it } from "vitest";
import { compileModelAllowlist } from "../core/permissions.js";
import { modelRefusal } from "./model-policy.js";

const keyWith = (allowedModels: string[] | null) => ({
  allowedModels,
  allowsModel: compileModelAllowlist(allowedModels),
});

describe("modelRefusal", () => {
  const limited = keyWith(["gpt-4o-mini", "gpt-4o*"]);
  const open = keyWith(null);

  it("allows every named model on the allowlist, and anything without one", () => {
    expect(modelRefusal(limited, ["gpt-4o-mini", "gpt-4o-2024-08-06"], "named")).toBeNull();
    expect(modelRefusal(open, ["o3"], "named")).toBeNull();
    expect(modelRefusal(open, [], "hidden")).toBeNull();
  });

  it("refuses any named model off the list, not only the first", () => {
    expect(modelRefusal(limited, ["gpt-4o-mini", "o3"], "free")).toBe("model o3 is not allowed for this key");
  });

  it("under an allowlist, a model-taking endpoint must name its model, and hidden ones are shut", () => {
    expect(modelRefusal(limited, [], "named")).toMatch(/name the model explicitly/);
    expect(modelRefusal(limited, [], "hidden")).toMatch(/cannot be enforced/);
    expect(modelRefusal(limited, [], "free")).toBeNull();
  });
});
