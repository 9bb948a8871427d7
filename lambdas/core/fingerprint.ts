// Fingerprints are part of the API contract (the client computes them for `rejected=`): defined in contract/.
export { fingerprint, primaryToken } from '../../contract/fingerprint';
