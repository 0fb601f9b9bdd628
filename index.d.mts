// Types of the ES module entry (index.mjs): the same names as the CommonJS build's.
export * from './dist/index.js';
