import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (one object per line) on stderr, for journald and log shippers. Written
 * synchronously: log lines are rare (connections, errors, reloads), and a line written just before
 * an exit must not be lost. TAPFLOW_LOG_LEVEL sets the level (default info).
 */
export function createLogger(component: string): Logger {
  return pino(
    {
      name: 'tapflow',
      level: process.env.TAPFLOW_LOG_LEVEL ?? 'info',
      base: { component, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
