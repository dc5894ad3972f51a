/** The account field rules of the API, checked before sending so people see why at once. */

export const USERNAME_PATTERN = /^[A-Za-z0-9._-]{3,32}$/;
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;
export const PASSPHRASE_MAX = 256;

/** Characters as the server counts them: code points after NFC normalisation. */
export function characterCount(text: string): number {
  // Code points, not UTF-16 units: an emoji counts as the server counts it.
  return Array.from(text.normalize('NFC')).length;
}

export function usernameProblem(username: string): string | null {
  if (USERNAME_PATTERN.test(username)) {
    return null;
  }
  return 'A username has 3 to 32 characters: letters, digits, dot, underscore or hyphen.';
}

export function passwordProblem(password: string): string | null {
  const length = characterCount(password);
  if (length < PASSWORD_MIN) {
    return `This password is too weak: use at least ${PASSWORD_MIN} characters (a few words work well).`;
  }
  if (length > PASSWORD_MAX) {
    return `A password can have at most ${PASSWORD_MAX} characters.`;
  }
  if (new Set(password).size < 4) {
    return 'This password is too weak: it repeats too few different characters.';
  }
  return null;
}
