// qs (cos-request's query strings) keeps per-object state in a "side channel": a WeakMap for
// object keys and a list for primitives. The package does the same through side-channel-weakmap,
// -map and -list, get-intrinsic, call-bound and object-inspect (~40 KB, a lot of load-time work);
// this is that contract (assert, delete, get, has, set) on a WeakMap and a Map.
module.exports = function getSideChannel() {
  let weak;
  let map;
  const isObject = (key) => (typeof key === 'object' && key !== null) || typeof key === 'function';
  const store = (key, create) => {
    if (isObject(key)) return weak || (create ? (weak = new WeakMap()) : undefined);
    return map || (create ? (map = new Map()) : undefined);
  };
  const channel = {
    assert(key) {
      if (!channel.has(key)) throw new TypeError('Side channel does not contain ' + (isObject(key) ? 'the given object key' : String(key)));
    },
    delete(key) {
      const s = store(key, false);
      return !!s && s.delete(key);
    },
    get(key) {
      const s = store(key, false);
      return s && s.get(key);
    },
    has(key) {
      const s = store(key, false);
      return !!s && s.has(key);
    },
    set(key, value) {
      store(key, true).set(key, value);
    },
  };
  return channel;
};
