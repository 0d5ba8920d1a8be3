/**
 * The engine registry: the only place that names the engine folders. The worker loads an
 * engine's module the first time a task asks for it (so a torch run never loads tfjs, and
 * the CLI's grammar commands load neither). Adding an engine: a folder under engines/ whose
 * index exports `engine: ComputeEngine`, its name in protocol's EngineName and one line here.
 */
import { ENGINE_MODELS } from '../../../protocol/run-events';
import type { ComputeEngine, EngineName, ModelKind } from './types';

// Literal requires, so that the engine's bundle (dist/engine) includes both engines.
/* eslint-disable @typescript-eslint/no-require-imports */
const MODULES: Record<EngineName, () => { engine: ComputeEngine }> = {
  tfjs: () => require('../engines/tfjs') as { engine: ComputeEngine },
  torch: () => require('../engines/torch') as { engine: ComputeEngine },
};
/* eslint-enable @typescript-eslint/no-require-imports */

export { ENGINE_MODELS } from '../../../protocol/run-events';

const loaded = new Map<EngineName, ComputeEngine>();

export function loadEngine(name: EngineName): ComputeEngine {
  let e = loaded.get(name);
  if (!e) {
    const load = MODULES[name];
    if (!load) throw new Error(`unknown engine '${name}' (engines: ${Object.keys(MODULES).join(', ')})`);
    e = load().engine;
    loaded.set(name, e);
  }
  return e;
}

/** Engines loaded in this process (to shut them down when the worker exits). */
export function loadedEngines(): ComputeEngine[] {
  return [...loaded.values()];
}

/** One line when `engine` cannot train `model`, else undefined. */
export function modelProblem(engine: EngineName, model: ModelKind): string | undefined {
  if (ENGINE_MODELS[engine].includes(model)) return undefined;
  const others = (Object.keys(ENGINE_MODELS) as EngineName[]).filter((n) => ENGINE_MODELS[n].includes(model));
  return `model '${model}' is not available on the ${engine} engine (its models: ${ENGINE_MODELS[engine].join(', ')})${others.length ? `; use --engine ${others[0]}` : ''}`;
}
