/** Datasets loaded once per process, by their task spec (a worker trains many losses and seeds on one). */
import type { DatasetTaskSpec } from '../compute/types';
import { loadDatasetSync } from './load';
import type { Dataset } from './types';

const datasets = new Map<string, Dataset>();

/** The cache key of a dataset spec (also names the torch engine's data files). */
export function datasetKey(s: DatasetTaskSpec): string {
  return JSON.stringify([s.spec, s.seed, s.maxTrain ?? null, s.labelNoise ?? null, s.imbalance ?? null, s.imageSize ?? null, s.cwd ?? null]);
}

/** Loads a dataset once per process (by spec). */
export function cachedDataset(s: DatasetTaskSpec): Dataset {
  const key = datasetKey(s);
  let ds = datasets.get(key);
  if (!ds) {
    ds = loadDatasetSync(s.spec, { seed: s.seed, maxTrain: s.maxTrain, labelNoise: s.labelNoise, imbalance: s.imbalance, cwd: s.cwd });
    // A handful of configurations at most per run; keep memory bounded anyway.
    if (datasets.size >= 4) datasets.delete(datasets.keys().next().value as string);
    datasets.set(key, ds);
  }
  return ds;
}
