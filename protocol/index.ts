export * from './lsp';
