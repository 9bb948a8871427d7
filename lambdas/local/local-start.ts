// Why local mode could not start, as one line naming what to fix; kept light so it loads before the service.

/** Local mode cannot start: a bad PORT, a port in use, an unusable tenants file. One line, naming what to fix. */
export class LocalStartError extends Error {
  override readonly name = 'LocalStartError';
}

/** `PORT` (or the port option) as a port number; a clear error naming PORT otherwise. */
export function resolvePort(option: number | undefined, env: string | undefined): number {
  const raw = option ?? (env === undefined || env === '' ? 8787 : env);
  const text = String(raw).trim();
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new LocalStartError(
      `PORT must be a port number from 0 to 65535 (0 picks a free one), not '${text.slice(0, 40)}'.`,
    );
  }
  return Number(text);
}

/** A listen failure as a LocalStartError naming PORT (in use, not permitted); other errors unchanged. */
export function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new LocalStartError(
      `PORT ${port} is already in use on ${host}: stop the other server, or set PORT to a free port (PORT=0 picks one).`,
      { cause: error },
    );
  if (code === 'EACCES')
    return new LocalStartError(`PORT ${port} may not be bound on ${host} (permission denied): use a port above 1023.`, {
      cause: error,
    });
  return error as Error;
}
