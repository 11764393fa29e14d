// How robot accounts are named. A robot logs in as `robot$NAME`: a name no user can have
// (`registry user add` refuses the `$`, and configured or htpasswd users named so are refused at
// start), so a login name says by itself which kind of account to look up, and a write's actor
// says by itself that a robot made it.

export const ROBOT_PREFIX = 'robot$';

/** A robot's own name: lower-case letters, digits, `.`, `_`, `-`; up to 64 characters. */
export const ROBOT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The login name of the robot `name`: `robot$name`. */
export const robotLogin = (name: string): string => `${ROBOT_PREFIX}${name}`;

/** Whether a login name (or a write's actor, or a token's subject) is a robot's. */
export const isRobotLogin = (login: string | null): login is string =>
  login?.startsWith(ROBOT_PREFIX) === true;
