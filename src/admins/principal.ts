import type { Actor } from "../audit/types.js";
import type { Role } from "../core/roles.js";

/** An authenticated admin key, with the request's origin for the audit log. */
export interface Principal extends Actor {
  role: Role;
  name: string;
}
