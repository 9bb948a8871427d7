import { tmpdir } from 'node:os';

describe('the test run', () => {
  it('writes its temporary files under a directory of its own, which the global teardown removes', () => {
    const root = process.env.TVM_TEST_TMP_ROOT;
    expect(root).toMatch(/tvm-test-run-/);
    expect(tmpdir()).toBe(root);
  });
});
