import { RotvError } from '../errors.ts'

/** `--at` is not a time of day. */
export class ScheduleTimeError extends RotvError {}

/** The asked-for scheduler cannot be used on this machine (no crontab command, no systemd user manager). */
export class SchedulerUnavailableError extends RotvError {}

/** Installing or removing the entry failed (crontab or systemctl said no). */
export class ScheduleInstallError extends RotvError {}

/**
 * A secret the refresh needs is set only in this shell's environment. The job runs later without that
 * environment, and secrets are never written into a crontab line or a job script.
 */
export class ScheduleSecretFromShellError extends RotvError {}
