/**
 * The engine registry: the only place that names the engine folders. The worker loads an
 * engine's module the first time a task asks for it (so a torch run never loads tfjs, and
 * the CLI's grammar commands load neither). Adding an engine: a folder under engines/ whose
 * index exports `engine: ComputeEngine`, its name in protocol's EngineName and one line here.
 */
import { ENGINE_MODELS } from '../../../protocol/run-events';
import type { ComputeEngine, EngineName, ModelKind } from './types';

const MODULES: Record<EngineName, string> = {
  tfjs: '../engines/tfjs',
  torch: '../engines/torch',
};

export { ENGINE_MODELS } from '../../../protocol/run-events';

const loaded = new Map<EngineName, ComputeEngine>();

export function loadEngine(name: EngineName): ComputeEngine {
  let e = loaded.get(name);
  if (!e) {
    const file = MODULES[name];
    if (!file) throw new Error(`unknown engine '${name}' (engines: ${Object.keys(MODULES).join(', ')})`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    e = (require(file) as { engine: ComputeEngine }).engine;
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
