// The API-key guard became @traceo/security's AuthGuard (API keys and JWT access tokens, roles).
// These re-exports keep existing imports of its pieces working.
export { parseApiKeys, Public, UnauthenticatedError, type ApiClient } from '@traceo/security';
