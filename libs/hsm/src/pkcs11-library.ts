import * as pkcs11js from 'pkcs11js';
import { HsmUnavailableError } from './hsm.errors';

const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;
const CKR_GENERAL_ERROR = 0x5;
const CKR_USER_PIN_NOT_INITIALIZED = 0x102;
/**
 * SoftHSM2 keeps a token in files that other processes rewrite while they create objects; reading one
 * mid-write answers CKR_GENERAL_ERROR, or leaves the token out of the slot list (both seen when several
 * services start together). A token that is being created is listed as soon as it is initialised and
 * refuses the user's login (CKR_USER_PIN_NOT_INITIALIZED) until its user PIN is set a moment later
 * (seen in CI). Opening is retried this many times on those three, waiting 50, 100, 200, 400 ms (the
 * library loaded again first when the token was not listed or had no user PIN, so the slots and the
 * token are read anew); any other error fails at once.
 */
const OPEN_ATTEMPTS = 5;

/** The labelled token is not in the slot list (yet, or at all). */
class TokenNotListed extends HsmUnavailableError {}

/** Blocks the thread (start-up only: opening a session is synchronous, like the PKCS#11 calls themselves). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface Pkcs11Options {
  /** Path of the PKCS#11 library: SoftHSM2 in development, AWS CloudHSM's client library in production. */
  modulePath: string;
  tokenLabel: string;
  /** Secret. SoftHSM2: the user PIN; CloudHSM: `<crypto-user>:<password>`. */
  pin: string;
  /**
   * Who chooses the AES-GCM IV when wrapping. `application` (SoftHSM2): a fresh random IV from
   * node:crypto is passed in. `hsm` (AWS CloudHSM, which refuses caller IVs): a zeroed IV buffer is
   * passed and the HSM writes the IV it generated into it; a result whose IV is still all zeros is
   * refused, so an HSM that ignores this never wraps two keys under one IV.
   */
  gcmIvSource?: 'application' | 'hsm';
}

/**
 * One loaded library per module path, shared by every handle in the process: PKCS#11 initialization
 * and the user login belong to the application, not to a session, so the last handle to close
 * finalizes the library.
 */
const libraries = new Map<string, { pkcs11: pkcs11js.PKCS11; handles: number }>();

export function acquireLibrary(modulePath: string): pkcs11js.PKCS11 {
  const shared = libraries.get(modulePath);
  if (shared) {
    shared.handles += 1;
    return shared.pkcs11;
  }
  const pkcs11 = new pkcs11js.PKCS11();
  pkcs11.load(modulePath);
  try {
    pkcs11.C_Initialize();
  } catch (error) {
    if (returnValue(error) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw error;
  }
  libraries.set(modulePath, { pkcs11, handles: 1 });
  return pkcs11;
}

export function releaseLibrary(modulePath: string): void {
  const shared = libraries.get(modulePath);
  if (!shared) return;
  shared.handles -= 1;
  if (shared.handles > 0) return;
  libraries.delete(modulePath);
  try {
    shared.pkcs11.C_Finalize();
  } finally {
    shared.pkcs11.close();
  }
}

/**
 * Releases this caller's hold on the module and takes it again: when nobody else in the process holds
 * it, that finalizes and initializes it anew, and SoftHSM2 reads its token directory again.
 */
function reloadLibrary(modulePath: string): pkcs11js.PKCS11 {
  releaseLibrary(modulePath);
  try {
    return acquireLibrary(modulePath);
  } catch (error) {
    throw new HsmUnavailableError(`cannot load the PKCS#11 module: ${describe(error)}`);
  }
}

export function returnValue(error: unknown): number | undefined {
  return error instanceof pkcs11js.Pkcs11Error ? error.code : undefined;
}

/** The PKCS#11 function and return value, never arguments: safe to log. */
export function describe(error: unknown): string {
  if (error instanceof pkcs11js.Pkcs11Error) return `${error.method || 'PKCS#11'} returned 0x${error.code.toString(16)}`;
  return error instanceof Error ? error.name : 'unknown error';
}

/** A logged-in session on the token with the configured label; `close` ends it and releases the library. */
export interface TokenSession {
  readonly pkcs11: pkcs11js.PKCS11;
  readonly session: Buffer;
  close(): void;
}

/** Loads the module (shared per path), opens a read-write session on the labelled token and logs in as the user. */
export function openTokenSession(options: Pkcs11Options): TokenSession {
  let pkcs11: pkcs11js.PKCS11;
  try {
    pkcs11 = acquireLibrary(options.modulePath);
  } catch (error) {
    throw new HsmUnavailableError(`cannot load the PKCS#11 module: ${describe(error)}`);
  }
  let opened: Buffer | undefined;
  for (let attempt = 1; !opened; attempt += 1) {
    let session: Buffer | undefined;
    try {
      const slot = pkcs11.C_GetSlotList(true).find((candidate) => pkcs11.C_GetTokenInfo(candidate).label.trim() === options.tokenLabel);
      if (!slot) throw new TokenNotListed(`no PKCS#11 token labelled ${options.tokenLabel}`);
      session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
      try {
        pkcs11.C_Login(session, pkcs11js.CKU_USER, options.pin);
      } catch (error) {
        if (returnValue(error) !== CKR_USER_ALREADY_LOGGED_IN) throw error;
      }
      opened = session;
    } catch (error) {
      if (session) pkcs11.C_CloseSession(session);
      const notListed = error instanceof TokenNotListed;
      const code = returnValue(error);
      if ((notListed || code === CKR_GENERAL_ERROR || code === CKR_USER_PIN_NOT_INITIALIZED) && attempt < OPEN_ATTEMPTS) {
        pause(50 * 2 ** (attempt - 1));
        // This process's copy of the token is read again: it does not see another process's changes.
        if (notListed || code === CKR_USER_PIN_NOT_INITIALIZED) pkcs11 = reloadLibrary(options.modulePath);
        continue;
      }
      releaseLibrary(options.modulePath);
      if (error instanceof HsmUnavailableError) throw error;
      throw new HsmUnavailableError(`cannot open a session on the PKCS#11 token: ${describe(error)}`);
    }
  }
  const session = opened;
  let closed = false;
  return {
    pkcs11,
    session,
    close: () => {
      if (closed) return;
      closed = true;
      try {
        pkcs11.C_CloseSession(session);
      } finally {
        releaseLibrary(options.modulePath);
      }
    },
  };
}
