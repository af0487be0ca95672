import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "wouter";
import { errorMessage, type CreateKey, type Key, type User } from "../api/client";
import { can, useSession } from "../api/context";
import { CreateKeyForm } from "../components/CreateKeyForm";
import { Dialog } from "../components/Dialog";
import { RevokeForm, RotateForm } from "../components/KeyForms";
import { ErrorText } from "../components/ErrorText";
import { SecretOnce } from "../components/SecretOnce";
import { describeCreator, describePermissions, formatDate } from "../format";

type Status = "" | Key["status"];
type Sort = "created" | "-created" | "name" | "-name";
const SORTS: Array<[Sort, string]> = [
  ["created", "Oldest first"],
  ["-created", "Newest first"],
  ["name", "Name A–Z"],
  ["-name", "Name Z–A"],
];
/** Typing pauses this long before the search goes to the server (not one request per key press). */
const SEARCH_PAUSE_MS = 250;
type Open = { kind: "create" } | { kind: "revoke"; key: Key } | { kind: "rotate"; key: Key } | null;
const PAGE = 50;

/** A project's API keys: the table, filters and paging, and every key action. */
export function Keys({ projectId }: { projectId: string }) {
  const { api, user } = useSession();
  const [keys, setKeys] = useState<Key[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState<Status>("");
  const [search, setSearch] = useState("");
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<Sort>("created");
  const latest = useRef(0);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<Open>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const writable = can(user, "write-keys");

  useEffect(() => {
    const t = setTimeout(() => setQ(search.trim()), SEARCH_PAUSE_MS);
    return () => clearTimeout(t);
  }, [search]);

  // Search, filter and sort run on the server, over every key of the project, not just the
  // pages loaded so far; "Load more" continues the same order from the last key (a cursor).
  const load = useCallback(
    (after?: string) => {
      const query = {
        limit: PAGE,
        ...(status ? { status } : {}),
        ...(q ? { q } : {}),
        ...(sort !== "created" ? { sort } : {}),
        ...(after ? { after } : {}),
      };
      const request = ++latest.current;
      return api
        .GET("/api/v1/projects/{project_id}/keys", { params: { path: { project_id: projectId }, query } })
        .then((r) => {
          // An answer to an older search or sort that arrives late must not replace a newer one.
          if (request !== latest.current) return;
          if (!r.data) return setError(errorMessage(r.error, r.response));
          const page = r.data;
          setKeys((prev) => (after ? [...prev, ...page.data] : page.data));
          setCursor(page.has_more ? page.next_cursor : null);
        });
    },
    [api, projectId, status, q, sort],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const close = useCallback(() => {
    // The secret goes with the dialog: nothing of it stays in the page's state.
    setSecret(null);
    setOpen(null);
  }, []);

  const create = async (body: CreateKey) => {
    setBusy(true);
    const r = await api.POST("/api/v1/projects/{project_id}/keys", {
      params: { path: { project_id: projectId } },
      body,
    });
    setBusy(false);
    if (!r.data) return setError(errorMessage(r.error, r.response));
    setError(null);
    setSecret(r.data.key);
    await load();
  };
  const act = async (
    key: Key,
    action: "revoke" | "rotate" | "disable" | "enable",
    grace = 0,
    reason = "",
  ) => {
    const path = { params: { path: { key_id: key.id } } };
    const r =
      action === "revoke"
        ? await api.POST("/api/v1/keys/{key_id}/revoke", { ...path, body: reason ? { reason } : {} })
        : action === "rotate"
          ? await api.POST("/api/v1/keys/{key_id}/rotate", { ...path, body: { grace_seconds: grace } })
          : action === "disable"
            ? await api.POST("/api/v1/keys/{key_id}/disable", path)
            : await api.POST("/api/v1/keys/{key_id}/enable", path);
    if (r.error) return setError(errorMessage(r.error, r.response));
    setError(null);
    const rotated = r.data as { key?: unknown } | undefined;
    if (action === "rotate" && typeof rotated?.key === "string") setSecret(rotated.key);
    else setOpen(null);
    await load();
  };

  return (
    <>
      <h1>API keys</h1>
      <ErrorText message={open ? null : error} />
      <div className="toolbar">
        <label htmlFor="key-search">Search keys</label>
        <input id="key-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        <label htmlFor="key-status">Status</label>
        <select id="key-status" value={status} onChange={(e) => setStatus(e.target.value as Status)}>
          <option value="">Any</option>
          <option value="active">Active</option>
          <option value="disabled">Disabled</option>
          <option value="revoked">Revoked</option>
          <option value="expired">Expired</option>
        </select>
        <label htmlFor="key-sort">Sort by</label>
        <select id="key-sort" value={sort} onChange={(e) => setSort(e.target.value as Sort)}>
          {SORTS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        {writable ? (
          <button type="button" onClick={() => setOpen({ kind: "create" })}>
            Create key
          </button>
        ) : null}
      </div>
      <KeyTable
        keys={keys}
        me={user}
        writable={writable}
        onAction={(kind, key) => setOpen({ kind, key })}
        onToggle={(key) => void act(key, key.status === "disabled" ? "enable" : "disable")}
      />
      {cursor ? (
        <button type="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      ) : null}
      {open?.kind === "create" ? (
        <Dialog title={secret ? "Save your key" : "Create key"} onClose={close}>
          {secret ? (
            <SecretOnce secret={secret} onDone={close} />
          ) : (
            <CreateKeyForm busy={busy} onSubmit={(b) => void create(b)} />
          )}
          <ErrorText message={error} />
        </Dialog>
      ) : null}
      {open?.kind === "rotate" ? (
        <Dialog title={secret ? "Save your new key" : `Rotate ${open.key.name}`} onClose={close}>
          {secret ? (
            <SecretOnce secret={secret} onDone={close} />
          ) : (
            <RotateForm onRotate={(g) => void act(open.key, "rotate", g)} onCancel={close} />
          )}
          <ErrorText message={error} />
        </Dialog>
      ) : null}
      {open?.kind === "revoke" ? (
        <Dialog title={`Revoke ${open.key.name}?`} onClose={close}>
          <RevokeForm
            keyName={open.key.name}
            onRevoke={(reason) => void act(open.key, "revoke", 0, reason)}
            onCancel={close}
          />
          <ErrorText message={error} />
        </Dialog>
      ) : null}
    </>
  );
}

function KeyTable(props: {
  keys: Key[];
  me: User | null;
  writable: boolean;
  onAction(kind: "rotate" | "revoke", key: Key): void;
  onToggle(key: Key): void;
}) {
  return (
    <table>
      <caption>Keys</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Key</th>
          <th scope="col">Permissions</th>
          <th scope="col">Created by</th>
          <th scope="col">Created</th>
          <th scope="col">Last used</th>
          <th scope="col">Expires / rotate by</th>
          <th scope="col">Status</th>
          {props.writable ? <th scope="col">Actions</th> : null}
        </tr>
      </thead>
      <tbody>
        {props.keys.map((k) => (
          <tr key={k.id}>
            <td>
              <Link href={`/keys/${k.id}`}>{k.name}</Link>
            </td>
            <td className="mono">{k.masked_key}</td>
            <td>{describePermissions(k.permissions)}</td>
            <td>{describeCreator(k, props.me)}</td>
            <td>{formatDate(k.created_at)}</td>
            <td>{formatDate(k.last_used_at)}</td>
            <td>{formatDate(k.expires_at ?? k.rotate_by)}</td>
            <td>{k.status}</td>
            {props.writable ? (
              <td className="actions">
                {k.status === "active" || k.status === "disabled" ? (
                  <>
                    <button
                      type="button"
                      aria-label={`Rotate ${k.name}`}
                      onClick={() => props.onAction("rotate", k)}
                    >
                      Rotate
                    </button>
                    <button
                      type="button"
                      aria-label={`${k.status === "disabled" ? "Enable" : "Disable"} ${k.name}`}
                      onClick={() => props.onToggle(k)}
                    >
                      {k.status === "disabled" ? "Enable" : "Disable"}
                    </button>
                    <button
                      type="button"
                      aria-label={`Revoke ${k.name}`}
                      className="danger"
                      onClick={() => props.onAction("revoke", k)}
                    >
                      Revoke
                    </button>
                  </>
                ) : null}
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
