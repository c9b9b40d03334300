// tencentcloud-sdk-nodejs's compiled JavaScript, as far as this product bundles it, calls two
// tslib helpers; scripts/build.mjs fails the build if a bundled SDK file calls any other.
// `__importStar` binds each export through a getter, as tslib 2.x does (the SDK's own tslib 1.13
// copies every value): copying would read every property of Node's crypto module at load, and
// reading `crypto.webcrypto` loads Node's whole WebCrypto implementation for nothing.
'use strict';
exports.__importDefault = function (mod) {
  return mod && mod.__esModule ? mod : { default: mod };
};
exports.__importStar = function (mod) {
  if (mod && mod.__esModule) return mod;
  var result = {};
  if (mod != null) {
    for (var k in mod) {
      if (k !== 'default' && Object.prototype.hasOwnProperty.call(mod, k)) {
        Object.defineProperty(result, k, { enumerable: true, get: (function (key) { return function () { return mod[key]; }; })(k) });
      }
    }
  }
  Object.defineProperty(result, 'default', { enumerable: true, value: mod });
  return result;
};
