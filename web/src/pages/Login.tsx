import { useState, type FormEvent } from "react";
import { useLocation } from "wouter";
import { errorMessage } from "../api/client";
import { useSession } from "../api/context";
import { ErrorText } from "../components/ErrorText";

/** Sign in with email and password; the server sets the session cookie. */
export function Login() {
  const { api, setUser } = useSession();
  const [, navigate] = useLocation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const {
      data,
      error: body,
      response,
    } = await api.POST("/api/v1/auth/login", { body: { email, password } });
    setBusy(false);
    setPassword("");
    if (!data) return setError(errorMessage(body, response));
    setUser(data.user);
    navigate("/");
  };
  return (
    <main className="auth">
      <h1>Sign in to keyward</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorText message={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
