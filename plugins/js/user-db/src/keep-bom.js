// Work-around for a componentize-js 0.23 binding bug: the generated glue
// decodes every incoming WIT string with `new TextDecoder()`, whose default
// `ignoreBOM: false` strips a leading U+FEFF, so the key part "\u{feff}42"
// would arrive as "42". WIT strings are plain text with no byte-order mark,
// so this module (imported before anything else) makes such decoders keep
// it. Only decoders left at the defaults change; those asking for
// `fatal` or `ignoreBOM` explicitly are untouched.

const decode = TextDecoder.prototype.decode;
const keepBom = new TextDecoder('utf-8', { ignoreBOM: true });

TextDecoder.prototype.decode = function decodeKeepingBom(input, options) {
  const isDefault = this.encoding === 'utf-8' && !this.fatal && !this.ignoreBOM;
  return decode.call(isDefault ? keepBom : this, input, options);
};
