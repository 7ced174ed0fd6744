// MFA, password hashing and brute-force building blocks: plain TypeScript, storage behind ports.
// docs/auth-mfa.md explains the algorithms, parameters and trade-offs.
export { argon2idHash, argon2idVerify, parseArgon2idPhc, type Argon2idParameters } from './argon2id';
export {
  ACCOUNT_THROTTLE_POLICY,
  IP_THROTTLE_POLICY,
  MFA_THROTTLE_POLICY,
  decideAttempt,
  chargeAttempt,
  refundAttempt,
  type AttemptState,
  type ThrottleDecision,
  type ThrottlePolicy,
} from './attempt-throttle.policy';
export {
  AttemptThrottle,
  InMemoryLoginAttemptStore,
  LoginThrottle,
  ipThrottleKey,
  loginThrottleKey,
  type LoginAttempt,
  type LoginAttemptStore,
  type LoginThrottleDecision,
} from './attempt-throttle';
export { base32Decode, base32Encode } from './base32';
export {
  ACR_MFA,
  ACR_PASSWORD,
  ACR_VALUES,
  MFA_REQUIRED_BY_ROLE,
  authenticationContext,
  mfaRequiredForRoles,
  type AcrValue,
  type AuthenticationContext,
  type AuthenticationMethod,
} from './mfa-policy';
export { InvalidMfaParametersError, InvalidOtpauthLabelError, InvalidTotpSecretError } from './mfa.errors';
export { buildOtpauthUri, type OtpauthUriInput } from './otpauth-uri';
export { MAX_PASSWORD_LENGTH, PASSWORD_ARGON2ID, PasswordHasher } from './password-hasher';
export {
  DEFAULT_RECOVERY_CODE_COUNT,
  InMemoryRecoveryCodeStore,
  RECOVERY_CODE_ARGON2ID,
  RecoveryCodes,
  generateRecoveryCodes,
  hashRecoveryCode,
  normaliseRecoveryCode,
  type RecoveryCodeRedemption,
  type RecoveryCodeStore,
  type StoredRecoveryCode,
} from './recovery-codes';
export {
  DEFAULT_TOTP_PARAMETERS,
  DEFAULT_TOTP_WINDOW,
  TOTP_ALGORITHMS,
  checkTotp,
  generateTotpSecret,
  hotp,
  totpAt,
  type TotpAlgorithm,
  type TotpCheck,
  type TotpCheckResult,
  type TotpParameters,
} from './totp';
export {
  TOTP_ENROLLMENT_TTL_MS,
  confirmTotpEnrollment,
  startTotpEnrollment,
  type PendingTotpEnrollment,
  type StartTotpEnrollmentInput,
  type TotpEnrollmentConfirmation,
} from './totp-enrollment';
export {
  InMemoryTotpReplayStore,
  TotpVerifier,
  type TotpEnrollment,
  type TotpReplayStore,
  type TotpVerifierOptions,
} from './totp-verifier';
