import { useEffect, useMemo, useState } from "react";
import { Redirect, Route, Switch } from "wouter";
import type { Api, User } from "./api/client";
import { SessionContext } from "./api/context";
import { Layout } from "./components/Layout";
import { AdminKeys } from "./pages/AdminKeys";
import { Audit } from "./pages/Audit";
import { Alerts } from "./pages/Alerts";
import { Invite } from "./pages/Invite";
import { KeyDetail } from "./pages/KeyDetail";
import { Keys } from "./pages/Keys";
import { Leaks } from "./pages/Leaks";
import { Login } from "./pages/Login";
import { Members } from "./pages/Members";
import { Overview } from "./pages/Overview";
import { Projects } from "./pages/Projects";
import { Settings } from "./pages/Settings";
import { Usage } from "./pages/Usage";

/** The console: who is signed in decides between the public pages and the rest. */
export function App({ api }: { api: Api }) {
  const [user, setUser] = useState<User | null>(null);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    void api.GET("/api/v1/auth/me").then(({ data }) => {
      setUser(data?.user ?? null);
      setLoaded(true);
    });
  }, [api]);
  const session = useMemo(() => ({ api, user, setUser }), [api, user]);
  if (!loaded) return <p className="loading">Loading…</p>;
  return (
    <SessionContext.Provider value={session}>
      <Switch>
        <Route path="/login">{user ? <Redirect to="/" /> : <Login />}</Route>
        <Route path="/invite/:token">{(params) => <Invite token={params.token} />}</Route>
        <Route>
          {user ? (
            <Layout>
              <Switch>
                <Route path="/">
                  <Overview />
                </Route>
                <Route path="/projects">
                  <Projects />
                </Route>
                <Route path="/projects/:id">{(params) => <Keys projectId={params.id} />}</Route>
                <Route path="/keys/:id">{(params) => <KeyDetail keyId={params.id} />}</Route>
                <Route path="/alerts">
                  <Alerts />
                </Route>
                <Route path="/usage">
                  <Usage />
                </Route>
                <Route path="/members">
                  <Members />
                </Route>
                <Route path="/admin-keys">
                  <AdminKeys />
                </Route>
                <Route path="/audit">
                  <Audit />
                </Route>
                <Route path="/leaks">
                  <Leaks />
                </Route>
                <Route path="/settings">
                  <Settings />
                </Route>
                <Route>
                  <h1>Page not found</h1>
                </Route>
              </Switch>
            </Layout>
          ) : (
            <Redirect to="/login" />
          )}
        </Route>
      </Switch>
    </SessionContext.Provider>
  );
}
