/**
 * Every command the extension contributes (pure: the manifest test checks package.json against
 * it).
 */
export const COMMAND_IDS = [
  'lossmith.showDerivativePreview',
  'lossmith.format',
  'lossmith.insertCatalogueLoss',
  'lossmith.openCatalogue',
  'lossmith.restartServer',
  'lossmith.showOutput',
  // Runs (client/src/runs).
  'lossmith.evaluateLoss',
  'lossmith.startEvolution',
  'lossmith.evaluateRunConfig',
  'lossmith.stopRun',
  'lossmith.showRuns',
  'lossmith.refreshRuns',
  'lossmith.openRun',
  'lossmith.resumeRun',
  'lossmith.deleteRun',
  'lossmith.revealRun',
  'lossmith.openBestLoss',
  'lossmith.compareRuns',
  'lossmith.previewLoss',
  'lossmith.exportLoss',
  // The Getting Started walkthrough (client/src/walkthrough.ts).
  'lossmith.newLossFile',
  'lossmith.openWalkthrough',
  // The job queue (client/src/runs/queue-settings.ts).
  'lossmith.setQueuePassword',
] as const;
export type CommandId = (typeof COMMAND_IDS)[number];
