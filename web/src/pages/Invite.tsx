import { useEffect, useState, type FormEvent } from "react";
import { useLocation } from "wouter";
import { errorMessage, type Schemas } from "../api/client";
import { useSession } from "../api/context";
import { ErrorText } from "../components/ErrorText";

const TITLES = {
  setup: "Set up the first owner",
  invite: "Join keyward",
  reset: "Choose a new password",
} as const;

/** A one-time link (first owner, invitation or password reset): choose a name and password, then signed in. */
export function Invite({ token }: { token: string }) {
  const { api, setUser } = useSession();
  const [, navigate] = useLocation();
  const [invitation, setInvitation] = useState<Schemas["InvitationLookup"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  useEffect(() => {
    void api.GET("/api/v1/auth/invitations/{token}", { params: { path: { token } } }).then((r) => {
      if (r.data) setInvitation(r.data);
      else setError(errorMessage(r.error, r.response));
    });
  }, [api, token]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body = {
      password,
      ...(name ? { display_name: name } : {}),
      ...(invitation?.email ? {} : { email }),
    };
    const r = await api.POST("/api/v1/auth/invitations/{token}/accept", {
      params: { path: { token } },
      body,
    });
    setPassword("");
    if (!r.data) return setError(errorMessage(r.error, r.response));
    setUser(r.data.user);
    navigate("/");
  };
  if (!invitation)
    return (
      <main className="auth">
        <h1>One-time link</h1>
        {error ? <ErrorText message={error} /> : <p>Checking the link…</p>}
      </main>
    );
  return (
    <main className="auth">
      <h1>{TITLES[invitation.kind]}</h1>
      <p>
        Role: <strong>{invitation.role}</strong>
        {invitation.email ? <> · {invitation.email}</> : null}
      </p>
      <form onSubmit={(e) => void submit(e)}>
        {invitation.email ? null : (
          <>
            <label htmlFor="email">Email</label>
            <input
              id="email"
              type="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </>
        )}
        <label htmlFor="display-name">Display name</label>
        <input
          id="display-name"
          required={invitation.kind !== "reset"}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <label htmlFor="new-password">Password</label>
        <input
          id="new-password"
          type="password"
          autoComplete="new-password"
          minLength={12}
          required
          aria-describedby="password-hint"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <p id="password-hint" className="hint">
          At least 12 characters, not a common password.
        </p>
        <ErrorText message={error} />
        <button type="submit">{invitation.kind === "reset" ? "Set password" : "Create account"}</button>
      </form>
    </main>
  );
}
