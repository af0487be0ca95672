import { z } from "@hono/zod-openapi";
import { ID_PREFIX } from "../../core/ids.js";
import { ROLES } from "../../core/roles.js";
import { MAX_PASSWORD_LENGTH } from "../../people/passwords.js";
import { ProjectId } from "../schemas.js";

/**
 * Schemas of people, sessions and one-time links (/api/v1/auth/*, /api/v1/users*). Times are
 * epoch milliseconds. Names are stored and returned verbatim: markup in them is text, and
 * rendering it safely is the client's job (the console renders text, never HTML).
 */

const idOf = (prefix: string, name: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`), `must be a ${name} id (${prefix}_…)`)
    .openapi({ example: `${prefix}_01JD3ZK5Q8XW2V7N4M6B9C1D2E` });

export const UserId = idOf(ID_PREFIX.user, "user");
export const SessionId = idOf(ID_PREFIX.session, "session");
export const InvitationId = idOf(ID_PREFIX.invitation, "invitation");

export const UserIdParam = z.object({ id: UserId.openapi({ param: { name: "id", in: "path" } }) });
export const SessionIdParam = z.object({ id: SessionId.openapi({ param: { name: "id", in: "path" } }) });
export const UserSessionParams = z.object({
  id: UserId.openapi({ param: { name: "id", in: "path" } }),
  sid: SessionId.openapi({ param: { name: "sid", in: "path" } }),
});
export const InvitationIdParam = z.object({
  id: InvitationId.openapi({ param: { name: "id", in: "path" } }),
});
/** Any string: a malformed token is a 404 like an unknown one, not a 400 that says more. */
export const TokenParam = z.object({
  token: z
    .string()
    .max(200)
    .openapi({ param: { name: "token", in: "path" } }),
});

const Email = z.email().max(254);
const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .refine((s) => !/\p{Cc}/u.test(s), "must not contain control characters");
const Password = z
  .string()
  .min(1)
  .max(MAX_PASSWORD_LENGTH * 4);
const Role = z.enum(ROLES);
const ProjectList = z.array(ProjectId).max(1000);

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    display_name: z.string(),
    role: Role,
    projects: z.array(z.string()).nullable().openapi({ description: "null = every project" }),
    created_at: z.number().int(),
    disabled_at: z.number().int().nullable(),
  })
  .openapi("User");

export const UserEnvelope = z.object({ user: UserSchema }).openapi("UserEnvelope");

export const LoginBody = z
  .object({ email: z.string().max(254), password: Password })
  .strict()
  .openapi("Login");

export const InvitationLookupSchema = z
  .object({
    kind: z.enum(["setup", "invite", "reset"]),
    email: z
      .string()
      .nullable()
      .openapi({ description: "null only for a setup link printed without an email" }),
    role: Role,
    expires_at: z.number().int(),
  })
  .openapi("InvitationLookup");

export const AcceptBody = z
  .object({
    display_name: DisplayName.optional().openapi({ description: "required except for kind reset" }),
    password: Password,
    email: Email.optional().openapi({ description: "only for a setup link whose email is null" }),
  })
  .strict()
  .openapi("AcceptInvitation");

export const SessionSchema = z
  .object({
    id: z.string(),
    created_at: z.number().int(),
    last_seen_at: z.number().int(),
    expires_at: z.number().int(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    current: z.boolean(),
  })
  .openapi("Session");

export const SessionList = z.object({ data: z.array(SessionSchema) }).openapi("SessionList");

export const InvitationSchema = z
  .object({
    id: z.string(),
    kind: z.enum(["setup", "invite", "reset"]),
    email: z.string().nullable(),
    role: Role,
    projects: z.array(z.string()).nullable(),
    expires_at: z.number().int(),
    created_at: z.number().int(),
  })
  .openapi("Invitation");

export const CreateInvitationBody = z
  .object({ email: Email, role: Role, projects: ProjectList.optional() })
  .strict()
  .openapi("CreateInvitation");

export const CreatedInvitationSchema = z
  .object({ invite_url: z.string(), invitation: InvitationSchema })
  .openapi("CreatedInvitation");

export const UpdateUserBody = z
  .object({
    role: Role.optional(),
    projects: ProjectList.nullable().optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  .openapi("UpdateUser");

export const ResetLinkSchema = z
  .object({ reset_url: z.string(), expires_at: z.number().int() })
  .openapi("ResetLink");
