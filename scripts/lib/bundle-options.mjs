// The esbuild options of every bundle, shared by scripts/build.mjs and the bench: which modules
// the SDKs drag in are shimmed, which SDK lines are patched, and the tslib check.
import { readFileSync } from 'fs';
import { join, resolve as resolvePath, sep } from 'path';

const root = new URL('../..', import.meta.url).pathname;

// Modules the SDKs drag in but the functions never execute (see scripts/shims/README.md, which
// says for each why it is never reached). By package name, whoever requires it:
const SHIMS = {
  'tough-cookie': 'tough-cookie.cjs',
  'http-signature': 'unsupported-auth.cjs',
  aws4: 'unsupported-auth.cjs',
  'aws-sign2': 'unsupported-auth.cjs',
  'oauth-sign': 'unsupported-auth.cjs',
  'mime-types': 'mime-types.cjs',
  'json-bigint': 'json-native.cjs',
  'https-proxy-agent': 'no-proxy-agent.cjs',
  'form-data': 'no-multipart.cjs',
  'combined-stream': 'no-multipart.cjs',
  'side-channel': 'side-channel.cjs',
  'forever-agent': 'forever-agent.cjs',
  'tunnel-agent': 'lazy-tunnel-agent.cjs',
  uuid: 'uuid.cjs',
  tslib: 'tslib.cjs',
  'performance-now': 'performance-now.cjs',
  'cos-request': 'cos-transport.cjs',
  'node-fetch': 'fetch-lite.cjs',
};
// Files inside the SDKs, by their path under node_modules/.
const FILE_SHIMS = {
  'tencentcloud-sdk-nodejs/tencentcloud/common/sse_response_model.js': 'unused.cjs',
  'cos-nodejs-sdk-v5/sdk/advance.js': 'cos-advance.cjs',
  'cos-nodejs-sdk-v5/sdk/select-stream.js': 'unused.cjs',
  'cos-fast-xml-parser/src/validator.js': 'unused.cjs',
  'cos-fast-xml-parser/src/xmlbuilder/orderedJs2Xml.js': 'unused.cjs',
};
// Node's zlib, deferred to the first compressed answer, for this importer only (the real cos-request, loaded for a proxy).
const LAZY_ZLIB = /[\\/]node_modules[\\/]cos-request[\\/]/;
const shimPath = (file) => join(root, 'scripts', 'shims', file);
const shimPlugin = {
  name: 'shims',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(SHIMS).map((m) => m.replace(/[-/]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: shimPath(SHIMS[args.path]) }));
    b.onResolve({ filter: /^zlib$/ }, (args) => (LAZY_ZLIB.test(args.importer) ? { path: shimPath('lazy-zlib.cjs') } : undefined));
    b.onResolve({ filter: /^\./ }, (args) => {
      if (!args.resolveDir.includes(`${sep}node_modules${sep}`)) return undefined;
      let full = resolvePath(args.resolveDir, args.path);
      if (!full.endsWith('.js')) full += '.js';
      const under = full.slice(full.lastIndexOf(`${sep}node_modules${sep}`) + 14).split(sep).join('/');
      return FILE_SHIMS[under] ? { path: shimPath(FILE_SHIMS[under]) } : undefined;
    });
  },
};

// Behaviour-preserving one-line patches of SDK files, applied to the bundles only. Each must match
// exactly once, or the build fails (an SDK update must not drop a patch silently).
const PATCHES = [
  {
    // getRetryInfo() runs after every COS answer and reads `err.error.Code` inside a try/catch even
    // when there is no error: every successful request throws and catches a TypeError, and V8
    // captures a stack trace for each (~0.15 ms, about a fifth of the warm CPU per file). Same
    // outcome without the throw: no error → no error code → not a clock-skew error.
    file: 'cos-nodejs-sdk-v5/sdk/base.js',
    find: 'let errorCode = err.error.Code;',
    replace: 'let errorCode = err && err.error ? err.error.Code : undefined;',
  },
  {
    file: 'cos-nodejs-sdk-v5/sdk/base.js',
    find: 'let errorMessage = err.error.Message;',
    replace: 'let errorMessage = err && err.error ? err.error.Message : undefined;',
  },
  {
    // Every answer's body was decoded as UTF-8 text before the line that returns a successful
    // getObject's body as the raw Buffer: each audio file read (tens to hundreds of KB of binary)
    // was decoded for nothing, and left a string twice its size as garbage. The text is still made
    // for every answer that is parsed; the raw ones return on the next line, as before.
    file: 'cos-nodejs-sdk-v5/sdk/base.js',
    find: 'var body = bodyBuf.toString();',
    replace: 'var body = rawBody && statusSuccess ? "" : bodyBuf.toString();',
  },
];
/**
 * The COS SDK methods the functions call (shared/sdk/cos.ts; `test/bundle.test.ts` checks that this
 * list covers every call there), plus the signing helpers. base.js defines about 90 API methods
 * (bucket CORS, lifecycle, inventory, multipart, Select, ...) and wraps every one at start; the
 * bundles keep only these, which makes them about 35 KB smaller and their cold load about 1 ms
 * shorter. A method dropped by mistake is undefined, not subtly different: the build fails if a
 * kept method still names a dropped one, and the tests drive every call against the fakes.
 */
export const COS_METHODS = ['getObject', 'headObject', 'putObject', 'putObjectCopy', 'deleteObject', 'deleteMultipleObject', 'getBucket', 'getBucketVersioning', 'getObjectUrl', 'request', 'getAuth', 'getV4Auth'];

/** base.js with only {@link COS_METHODS} defined and registered (see there). */
export function keepCosMethods(crlf) {
  const src = crlf.replace(/\r\n/g, '\n');
  const start = src.indexOf('var API_MAP = {');
  const end = start === -1 ? -1 : src.indexOf('\n};', start);
  if (end === -1) throw new Error('cos-nodejs-sdk-v5/sdk/base.js has no API_MAP: review COS_METHODS in scripts/lib/bundle-options.mjs');
  const all = [...src.slice(start, end).matchAll(/^\s+(\w+): (\w+),/gm)].map((m) => m[1]);
  for (const k of COS_METHODS) if (!all.includes(k)) throw new Error(`the COS SDK has no method ${k}: review COS_METHODS`);
  const drop = all.filter((n) => !COS_METHODS.includes(n));
  let out = src.slice(0, start) + `var API_MAP = { ${COS_METHODS.map((k) => `${k}: ${k}`).join(', ')} ` + src.slice(end + 1);
  for (const name of drop) {
    const at = out.search(new RegExp(`^function ${name}\\(`, 'm'));
    const close = at === -1 ? -1 : out.indexOf('\n}\n', at);
    if (close === -1) throw new Error(`cos-nodejs-sdk-v5/sdk/base.js: no top-level function ${name} to drop: review COS_METHODS`);
    out = out.slice(0, at) + out.slice(close + 3);
  }
  const code = out.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1'); // comments may name them
  const named = drop.filter((n) => new RegExp(`(^|[^.\\w'"])${n}\\b`).test(code));
  if (named.length) throw new Error(`cos-nodejs-sdk-v5/sdk/base.js still names dropped method(s) ${named.join(', ')}: add them to COS_METHODS`);
  return out;
}

const patchPlugin = {
  name: 'sdk-patches',
  setup(b) {
    for (const file of new Set(PATCHES.map((p) => p.file))) {
      const filter = new RegExp(`node_modules[\\\\/]${file.split('/').map((x) => x.replace(/[.-]/g, '\\$&')).join('[\\\\/]')}$`);
      b.onLoad({ filter }, (args) => {
        let src = readFileSync(args.path, 'utf8');
        for (const patch of PATCHES.filter((p) => p.file === file)) {
          const at = src.indexOf(patch.find);
          if (at === -1 || src.indexOf(patch.find, at + 1) !== -1) throw new Error(`SDK patch for ${file} ("${patch.find}") does not match exactly once: review scripts/build.mjs PATCHES`);
          src = src.slice(0, at) + patch.replace + src.slice(at + patch.find.length);
        }
        if (file === 'cos-nodejs-sdk-v5/sdk/base.js') src = keepCosMethods(src);
        return { contents: src, loader: 'js' };
      });
    }
  },
};

/**
 * The tslib shim has only the helpers the bundled SDK files call; a new SDK version that calls
 * another one must fail the build here, not at an instance's cold start.
 */
export function checkTslib(metafile) {
  const known = new Set(['__importDefault', '__importStar']);
  for (const input of Object.keys(metafile.inputs)) {
    if (!input.includes('node_modules/tencentcloud-sdk-nodejs/tencentcloud/')) continue;
    for (const m of readFileSync(join(root, input), 'utf8').matchAll(/tslib_1\.(\w+)/g)) {
      if (!known.has(m[1])) throw new Error(`${input} calls tslib.${m[1]}, which scripts/shims/tslib.cjs does not have`);
    }
  }
}

/**
 * esbuild options shared by every bundle (functions, converter, the bench's SDK-floor bundle):
 * minified CommonJS for the SCF runtime's Node, with the shims and patches above.
 */
export function bundleOptions(target) {
  return {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target,
    minify: true,
    keepNames: false,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [shimPlugin, patchPlugin],
  };
}
