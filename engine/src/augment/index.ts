export * from './types';
export * from './image';
export * from './basic';
export * from './mix';
export * from './randaugment';
export * from './parse';
