/**
 * Every command the extension contributes (pure: the manifest test checks package.json against
 * it). Run commands (evaluation, evolution) join this list when the run manager lands.
 */
export const COMMAND_IDS = [
  'lossmith.showDerivativePreview',
  'lossmith.format',
  'lossmith.insertCatalogueLoss',
  'lossmith.openCatalogue',
  'lossmith.restartServer',
  'lossmith.showOutput',
] as const;
export type CommandId = (typeof COMMAND_IDS)[number];
