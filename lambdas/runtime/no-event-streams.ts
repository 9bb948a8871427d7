// Stands in for `@smithy/core/event-streams` in the bundles of functions whose AWS SDK clients have no event-stream
// operation (lib/bundle-settings.ts). The SDK's HTTP protocols load that module with a dynamic `import()` only when
// an operation streams events; because of that `import()`, esbuild wraps the whole `@smithy/core` module graph in
// lazy initialisers, so the real module costs about 20 KB of bundle and 4 ms of every cold start for code these
// functions never run. Should an event-stream operation ever reach this module, it fails with a message that says
// why, instead of a `TypeError`.

const NOT_BUNDLED =
  'AWS SDK event streams are not bundled in this function (lib/bundle-settings.ts): bundle it with @smithy/core/event-streams';

/** Same name as the real export, which `HttpProtocol.loadEventStreamCapability()` constructs. */
export class EventStreamSerde {
  constructor() {
    throw new Error(NOT_BUNDLED);
  }
}

/** Same name as the real export, which the protocols pass to their `eventStreamMarshaller` resolution. */
export function eventStreamSerdeProvider(): never {
  throw new Error(NOT_BUNDLED);
}
