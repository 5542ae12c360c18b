/** The command line was wrong: the message says what, and the command's usage follows it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
