/**
 * Typed errors. Only `bin/` turns them into messages and exit codes (see `exitCodeFor`), so every
 * module throws one of these and never calls `process.exit` itself.
 */

/** Exit codes promised to users and scripts. */
export const EXIT = {
  ok: 0,
  /** A run failed, or `check` found a regression. */
  failure: 1,
  /** Bad input: config, data, flags. */
  badInput: 2,
  /** SIGINT / SIGTERM. */
  interrupted: 130,
} as const;

/** Where in a source file an error points. `line` and `col` are 1-based. */
export interface SourcePosition {
  file: string;
  line?: number;
  col?: number;
}

function formatPosition(pos: SourcePosition): string {
  if (pos.line === undefined) return pos.file;
  return `${pos.file}:${pos.line}:${pos.col ?? 1}`;
}

/** Base class: a message a user can act on, and the exit code it maps to. */
export class BnnError extends Error {
  readonly exitCode: number;
  /** `cause` keeps the original error (and its stack) when a failure is re-thrown as a typed one. */
  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A config or experiment file is wrong: printed as `file:line:col: message`. */
export class ConfigError extends BnnError {
  readonly position?: SourcePosition;
  readonly detail: string;
  constructor(detail: string, position?: SourcePosition) {
    super(position ? `${formatPosition(position)}: ${detail}` : detail, EXIT.badInput);
    this.position = position;
    this.detail = detail;
  }
}

/** A command-line flag or argument is wrong. */
export class UsageError extends BnnError {
  constructor(message: string) {
    super(message, EXIT.badInput);
  }
}

/** Input data (annotations, images, predictions) is missing or malformed. */
export class DataError extends BnnError {
  constructor(message: string) {
    super(message, EXIT.badInput);
  }
}

/** A requested compute backend cannot be used here. */
export class BackendError extends BnnError {
  constructor(message: string) {
    super(message, EXIT.badInput);
  }
}

/** The results store refuses an operation (e.g. a run directory holds another config). */
export class ResultsError extends BnnError {
  constructor(message: string) {
    super(message, EXIT.badInput);
  }
}

/** One or more runs failed; the message says which. */
export class RunFailedError extends BnnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.failure, options);
  }
}

/** The user interrupted (SIGINT/SIGTERM); whatever could be saved was saved. */
export class InterruptedError extends BnnError {
  constructor(message = 'interrupted') {
    super(message, EXIT.interrupted);
  }
}

/** The error's stack followed by its causes' ("caused by: ..."), for BNN_ABLATE_DEBUG and worker logs. */
export function stackWithCauses(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(`${depth ? 'caused by: ' : ''}${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  }
  return parts.join('\n');
}

/** Maps any thrown value to the exit code and one-line message `bin/` prints. */
export function describeError(err: unknown): { code: number; message: string; internal: boolean } {
  if (err instanceof BnnError) return { code: err.exitCode, message: err.message, internal: false };
  const message = err instanceof Error ? err.message : String(err);
  return { code: EXIT.failure, message: `internal error: ${message}`, internal: true };
}
