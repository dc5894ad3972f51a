/**
 * The only way HTML may enter the page. The CSP says `require-trusted-types-for 'script'` and
 * allows the policy names `sealnote` and `dompurify` only, so a plain string assigned to
 * innerHTML throws. This module owns the `sealnote` policy, whose createHTML always runs
 * DOMPurify with a strict allowlist; no other code can make TrustedHTML.
 * @see https://w3c.github.io/trusted-types/dist/spec/
 * @see https://github.com/cure53/DOMPurify#what-about-dompurify-and-trusted-types
 */
import DOMPurify from 'dompurify';
import type { Config } from 'dompurify';

/** Formatting only: no forms, media, frames, styles, scripts, SVG or MathML. */
const PURIFY_CONFIG: Config = {
  ALLOWED_TAGS: [
    'a',
    'p',
    'br',
    'hr',
    'strong',
    'em',
    'del',
    'code',
    'pre',
    'blockquote',
    'ul',
    'ol',
    'li',
    'h1',
    'h2',
    'h3',
    'h4',
  ],
  ALLOWED_ATTR: ['href'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  USE_PROFILES: false,
  RETURN_TRUSTED_TYPE: false,
};

let policy: Pick<TrustedTypePolicy, 'createHTML'> | undefined;

function sanitize(html: string): string {
  return DOMPurify.sanitize(html, PURIFY_CONFIG);
}

/** Creates the policy once, at start, so that nothing else can claim the name. */
export function installTrustedTypesPolicy(): void {
  if (policy) {
    return;
  }
  if (window.trustedTypes) {
    policy = window.trustedTypes.createPolicy('sealnote', { createHTML: sanitize });
  }
}

/**
 * Replaces the children of `target` with sanitised HTML. The sanitiser's output goes straight
 * into the element: wrapping or concatenating it afterwards could re-create markup that the
 * sanitiser removed (mutation XSS).
 */
export function setSanitizedHtml(target: Element, html: string): void {
  installTrustedTypesPolicy();
  if (policy) {
    // TypeScript's DOM types still declare innerHTML as a string.
    target.innerHTML = policy.createHTML(html) as unknown as string;
  } else {
    // Browsers without Trusted Types: the same sanitiser, no policy object.
    target.innerHTML = sanitize(html);
  }
}
