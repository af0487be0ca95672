/** A failure the CLI reports as one line and a non-zero exit code (default 1). */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
