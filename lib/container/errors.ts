// Errors a user can meet around the container runtime, each with the fix.
import { RotvError } from '../errors.ts'

/** No podman, and no docker whose daemon answers. */
export class ContainerEngineMissingError extends RotvError {}
/** `build` failed: the engine's own last lines are in the message. */
export class ImageBuildError extends RotvError {}
/** RUNTIME=container but the image was never built. */
export class ImageMissingError extends RotvError {}
/** The container exited or the engine refused to start it. */
export class ContainerStartError extends RotvError {}
/** bump-version: not a version, not a bump kind, or not newer than the current one. */
export class VersionError extends RotvError {}
/** The Containerfile has no (or more than one) `LABEL version=` line to rewrite. */
export class ContainerfileError extends RotvError {}
