// Two kinds of error, each with a stable code: retriable (a dependency is down or busy; try again with backoff)
// and not (the input or the configuration is wrong; retrying cannot help).

export class VigilError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown; context?: Record<string, string | number> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = retriable ? 'RetriableError' : 'NonRetriableError';
    this.context = options?.context ?? {};
  }
  readonly context: Record<string, string | number>;
}

export const retriable = (code: string, message: string, cause?: unknown, context?: Record<string, string | number>) =>
  new VigilError(code, message, true, { cause, ...(context ? { context } : {}) });
export const nonRetriable = (
  code: string,
  message: string,
  cause?: unknown,
  context?: Record<string, string | number>,
) => new VigilError(code, message, false, { cause, ...(context ? { context } : {}) });

export const isRetriable = (err: unknown) => !(err instanceof VigilError) || err.retriable;
