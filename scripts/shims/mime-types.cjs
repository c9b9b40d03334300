// Content types are always explicit in this product; guessing from file names is never needed.
module.exports = {
  lookup: () => false,
  contentType: (t) => (typeof t === 'string' && t.includes('/') ? t : false),
  extension: () => false,
  charset: () => false,
  types: {},
  extensions: {},
};
