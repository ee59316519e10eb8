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

/** `connrca <command> --help`: the usage goes to stdout and the exit code is 0. */
export class HelpRequested extends UserError {
  constructor(usage: string) {
    super(`usage: ${usage}`, 0)
  }
}
