import { installLogCapture, restoreLogCapture } from './log-capture';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_REGION ??= 'ap-southeast-2';

// Every line the service logs (Powertools writes straight to stdout/stderr) is kept for assertions and kept off the
// test output. Only while a file's tests run: Jest's own reporter may share this process and must stay visible.
beforeAll(() => installLogCapture());
afterAll(() => restoreLogCapture());

// esbuild's asynchronous API keeps a service process for the file's builds: stop it with the file, so a Jest worker
// has nothing left running when it is asked to exit.
afterAll(async () => {
  const { stop } = await import('esbuild');
  await stop();
});
