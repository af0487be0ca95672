import type { ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { can, useSession } from "../api/context";

/** Sidebar, the signed-in person and "Sign out" around every signed-in page. */
export function Layout({ children }: { children: ReactNode }) {
  const { api, user, setUser } = useSession();
  const [, navigate] = useLocation();
  const signOut = async () => {
    await api.POST("/api/v1/auth/logout");
    setUser(null);
    navigate("/login");
  };
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">keyward</span>
        <span className="who">
          {user?.display_name} <span className="role">({user?.role})</span>
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav aria-label="Main" className="sidebar">
        <ul>
          <li>
            <Link href="/">Overview</Link>
          </li>
          <li>
            <Link href="/projects">Projects</Link>
          </li>
          <li>
            <Link href="/usage">Usage</Link>
          </li>
          <li>
            <Link href="/alerts">Alerts</Link>
          </li>
          {can(user, "manage-people") ? (
            <>
              <li>
                <Link href="/members">Members</Link>
              </li>
              <li>
                <Link href="/admin-keys">Admin keys</Link>
              </li>
            </>
          ) : null}
          {can(user, "read-audit") ? (
            <li>
              <Link href="/audit">Audit log</Link>
            </li>
          ) : null}
          <li>
            <Link href="/leaks">Leaks</Link>
          </li>
          <li>
            <Link href="/settings">Settings</Link>
          </li>
        </ul>
      </nav>
      <main className="content">{children}</main>
    </div>
  );
}
