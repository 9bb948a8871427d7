// The contract shared by the stack, the runtime and the client: names, error codes, API bodies, fingerprints.
export * from './api';
export * from './error-codes';
export * from './names';
export * from './fingerprint';
