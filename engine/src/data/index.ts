export * from './types';
export * from './split';
export * from './mnist';
export * from './idx';
export * from './cifar';
export * from './load';
export * from './cache';
