// Minimal jest transformer: esbuild turns TypeScript into CommonJS with inline source maps.
const { transformSync } = require('esbuild');
const { createHash } = require('crypto');

module.exports = {
  getCacheKey(source, filename) {
    return createHash('sha1').update(source).update(filename).update('v1').digest('hex');
  },
  process(source, filename) {
    const out = transformSync(source, {
      loader: 'ts',
      format: 'cjs',
      target: 'node18',
      sourcemap: 'inline',
      sourcefile: filename,
    });
    return { code: out.code };
  },
};
