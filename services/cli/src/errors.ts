/** An error the user can fix: printed as one line, no stack. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

export class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2)
  }
}
