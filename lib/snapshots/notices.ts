// What snapshot logic has to tell the user; lib never prints, the task layer renders these.
export interface Notice {
  level: 'info' | 'warn'
  message: string
  /** A command that acts on the notice, when there is one. */
  command?: string
}
