// What a command needs before it starts: that it exists (a clear "not found" instead of bash's 127),
// and an environment in which bash runs nothing but the command.
import { statSync } from 'node:fs'
import { delimiter, isAbsolute, join, resolve } from 'node:path'

/** True when `command` names an existing file (a path) or is found on `path`. */
export function commandExists(command: string, path: string | undefined, cwd?: string): boolean {
  if (command.includes('/')) return isFile(isAbsolute(command) ? command : resolve(cwd ?? process.cwd(), command))
  return (path ?? '').split(delimiter).some((dir) => dir && isFile(join(dir, command)))
}

/** The environment without the variables that make a non-interactive bash read a startup file first. */
export function shellSafeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { BASH_ENV: _bashEnv, ENV: _env, ...rest } = env
  // bash -c with a socket as stdin (what libuv's pipes are) and no SHLVL takes itself for a command run
  // by sshd and sources ~/.bashrc: pyenv/nvm/conda start-up on every command, and a stale pyenv rehash
  // lock made each one wait 60 s. A SHLVL of at least 1 tells bash it was started by a program.
  const level = Number(rest.SHLVL)
  return { ...rest, SHLVL: Number.isInteger(level) && level >= 1 ? rest.SHLVL : '1' }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}
