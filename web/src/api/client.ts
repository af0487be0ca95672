import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type User = Schemas["User"];
export type Project = Schemas["Project"];
export type Key = Schemas["Key"];
export type CreateKey = Schemas["CreateKey"];
export type Permissions = Schemas["Permissions"];
export type Role = User["role"];
export type Invitation = Schemas["Invitation"];
export type AdminKey = Schemas["AdminKey"];
export type AuditEntry = Schemas["AuditEntry"];
export type AuditReport = Schemas["AuditVerifyReport"];
export type Upstream = Schemas["Upstream"];
export type UsageRow = Schemas["UsageRow"];
export type Delivery = Schemas["WebhookDelivery"];
export type LeakReport = Schemas["LeakReport"];

/**
 * The management API as the console calls it: typed from the server's own OpenAPI document
 * (scripts/openapi-types.ts), authenticated by the session cookie, never by an admin key.
 */
export function createApi(baseUrl = window.location.origin) {
  return createClient<paths>({ baseUrl, credentials: "same-origin" });
}

export type Api = ReturnType<typeof createApi>;

interface ErrorLike {
  error?: { code?: string; message?: string };
}

/** An API error in words a person understands; `retryAfter` comes from the Retry-After header. */
export function errorMessage(body: unknown, response?: Response): string {
  const error = (body as ErrorLike | undefined)?.error;
  const code = error?.code;
  switch (code) {
    case "invalid_credentials":
      return "Wrong email or password.";
    case "too_many_attempts": {
      const wait = response?.headers.get("retry-after");
      return `Too many sign-in attempts. Try again in ${wait ?? "a few"} seconds.`;
    }
    case "unauthorized":
      return "Your session has ended. Sign in again.";
    case "forbidden":
      return "Your role does not allow this.";
    case "csrf_rejected":
      return "This request did not come from the console and was refused.";
    case "invitation_not_found":
      return "This link is not valid. Ask for a new one.";
    case "invitation_used":
      return "This link has already been used. Ask for a new one.";
    case "invitation_expired":
      return "This link has expired. Ask for a new one.";
    case "not_found":
      return "It no longer exists: someone may have removed it. Reload the page.";
    case undefined:
      return response
        ? `The server answered ${response.status}. Try again.`
        : "The server could not be reached.";
    default:
      return error?.message ?? "Something went wrong.";
  }
}

export type BudgetStatus = NonNullable<Schemas["BudgetStatus"]>;
export type Webhook = Schemas["Webhook"];
export type WebhookDelivery = Schemas["WebhookDelivery"];
