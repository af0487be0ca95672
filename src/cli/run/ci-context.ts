/** What keyward knows of the pipeline a `keyward run` is part of: recorded on the key it mints. */
export interface RunContext {
  ci_provider: string;
  repository?: string;
  ref?: string;
  workflow?: string;
  run_id?: string;
  actor?: string;
}

/**
 * Reads the CI provider's own variables (GitHub Actions, GitLab CI, then any CI that sets
 * `CI=true`); `local` outside CI. Only names and ids are read, never a token.
 */
export function runContext(env: NodeJS.ProcessEnv): RunContext {
  const pick = (o: Record<string, string | undefined>): Omit<RunContext, "ci_provider"> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v)) as Omit<RunContext, "ci_provider">;
  if (env.GITHUB_ACTIONS === "true") {
    return {
      ci_provider: "github_actions",
      ...pick({
        repository: env.GITHUB_REPOSITORY,
        ref: env.GITHUB_REF,
        workflow: env.GITHUB_WORKFLOW,
        run_id: env.GITHUB_RUN_ID,
        actor: env.GITHUB_ACTOR,
      }),
    };
  }
  if (env.GITLAB_CI === "true") {
    return {
      ci_provider: "gitlab_ci",
      ...pick({
        repository: env.CI_PROJECT_PATH,
        ref: env.CI_COMMIT_REF_NAME,
        workflow: env.CI_JOB_NAME,
        run_id: env.CI_PIPELINE_ID,
        actor: env.GITLAB_USER_LOGIN,
      }),
    };
  }
  if (env.CI === "true" || env.CI === "1") return { ci_provider: "ci" };
  return { ci_provider: "local", ...pick({ actor: env.USER ?? env.USERNAME }) };
}

/** A default key name: where the run comes from, and what it runs. */
export function runKeyName(ctx: RunContext, command: string): string {
  const where =
    ctx.repository !== undefined
      ? `${ctx.repository}${ctx.run_id ? `#${ctx.run_id}` : ""}`
      : ctx.ci_provider === "local"
        ? `local${ctx.actor ? `:${ctx.actor}` : ""}`
        : ctx.ci_provider;
  return `run ${where}: ${command}`.slice(0, 100);
}
