// The contract shared by the stack, the runtime and the client: names and error codes.
export * from './error-codes';
export * from './names';
