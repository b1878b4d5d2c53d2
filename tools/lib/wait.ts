// Waiting for something the tools expect to see: a registration, a container, a create that works again.

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined; returns that and the time
 * it took. Throws with `what` after `timeoutMs`. A probe that throws counts as "not yet".
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return { value, ms: Date.now() - started };
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - started > timeoutMs) {
      const why = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`;
      throw new Error(`${what}: not within ${timeoutMs / 1000} s${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
