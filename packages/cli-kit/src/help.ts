/** A section of cac's help output. */
export interface HelpSection {
  title?: string
  body: string
}

/** Options of `singleCommandHelp`. */
export interface SingleCommandHelpOptions {
  /** Shown under the name line. @default none */
  description?: string
  /** Body of an `Exit codes` section after the others. @default none */
  exitCodes?: string
}

/**
 * A cac help callback for single-command tools (one default command `[...args]`): drops the
 * "Commands" and "For more info" sections cac prints for it, puts `description` under the name
 * line and ends with the exit codes. `createProgram` installs it.
 * @example
 * cli.help(singleCommandHelp({ description: 'Publish one event…', exitCodes: '  0 ok, 1 failed' }))
 */
export function singleCommandHelp(options: SingleCommandHelpOptions = {}): (sections: HelpSection[]) => HelpSection[] {
  return (sections) => {
    const kept = sections.filter(
      (section) => section.title !== 'Commands' && !section.title?.startsWith('For more info'),
    )
    const [name, ...rest] = kept
    const described = name && options.description !== undefined ? [name, { body: options.description }, ...rest] : kept
    return options.exitCodes === undefined
      ? described
      : [...described, { title: 'Exit codes', body: options.exitCodes }]
  }
}
