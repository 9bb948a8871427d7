// Stands in for `@smithy/core/event-streams` in the bundles of functions whose AWS SDK clients have no event-stream
// operation (lib/bundle-settings.ts). The SDK's HTTP protocols load that module with a dynamic `import()` only when
// an operation streams events, so in these functions the real module would be a chunk of about 15 KB that is
// deployed and never loaded. Should an event-stream operation ever reach this module, it fails with a message that
// says why, instead of a `TypeError`.

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
