const CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):[^@/\s]*@/gi

/**
 * Replaces the password of every URL in `text` with `***` (`amqp://user:***@host`), so that
 * logs, errors and tool output never show credentials. Text without URLs is returned as is.
 */
export function redactUrl(text: string): string {
  return text.replace(CREDENTIALS, (_match, scheme: string, user: string) => `${scheme}${user}:***@`)
}
