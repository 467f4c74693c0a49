/** A section of cac's help output. */
export interface HelpSection {
  title?: string
  body: string
}

/**
 * A cac help callback for single-command tools (one default command `[...args]`): drops the
 * "Commands" and "For more info" sections cac prints for it and puts `description` under the
 * name line. Use it as `cli.help(singleCommandHelp('Publish one event…'))`.
 */
export function singleCommandHelp(description: string): (sections: HelpSection[]) => HelpSection[] {
  return (sections) => {
    const kept = sections.filter(
      (section) => section.title !== 'Commands' && !section.title?.startsWith('For more info'),
    )
    const [name, ...rest] = kept
    return name ? [name, { body: description }, ...rest] : kept
  }
}
