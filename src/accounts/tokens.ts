import { randomUUID } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { JWT_AUDIENCE, JWT_ISSUER } from '../config/env.js';

export interface AccessClaims {
  sub: string;
  jti: string;
  exp: number;
}

export interface TokenIssuer {
  issue(userId: string): { token: string; expiresIn: number };
  /** The verified claims, or undefined for any token that is not one of ours and current. */
  verify(token: string): AccessClaims | undefined;
}

/**
 * HS256 access tokens. Verification pins the algorithm (so `alg: none` and RS/HS confusion
 * fail), checks issuer and audience, and requires every claim we issue, `exp` included.
 * @see https://www.rfc-editor.org/rfc/rfc8725 (JWT best current practices)
 */
export function createTokenIssuer(secret: string, ttlSeconds: number): TokenIssuer {
  const sign = createSigner({
    key: secret,
    algorithm: 'HS256',
    iss: JWT_ISSUER,
    aud: JWT_AUDIENCE,
    expiresIn: ttlSeconds * 1000,
  });
  const verifier = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    allowedIss: JWT_ISSUER,
    allowedAud: JWT_AUDIENCE,
    requiredClaims: ['exp', 'iat', 'sub', 'jti', 'iss', 'aud'],
    // No tolerance: a revocation is kept until exp, so a token must not outlive exp either.
    clockTolerance: 0,
    // Verified tokens are cached until they expire; revocation is checked on every request.
    cache: 1000,
  });
  return {
    issue(userId) {
      const claims: Record<string, string> = { sub: userId, jti: randomUUID() };
      return { token: sign(claims), expiresIn: ttlSeconds };
    },
    verify(token) {
      try {
        const claims = verifier(token) as { sub?: unknown; jti?: unknown; exp?: unknown };
        const { jti, exp } = claims;
        const sub = claims.sub;
        if (typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') {
          return undefined;
        }
        return { sub, jti, exp };
      } catch {
        return undefined;
      }
    },
  };
}
