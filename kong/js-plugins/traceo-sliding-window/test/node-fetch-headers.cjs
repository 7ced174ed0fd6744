// Stands in for node-fetch in kong-pdk's plugin_test.js (see jest.config.cjs): the harness uses
// nothing from it but the Headers class, which Node 24 provides.
module.exports = { Headers: globalThis.Headers };
