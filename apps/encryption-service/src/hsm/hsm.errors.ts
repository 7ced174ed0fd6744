// Moved to libs/hsm; kept until every import in this app uses '@traceo/hsm'.
export { HsmUnavailableError, KeyIntegrityError } from '@traceo/hsm';
