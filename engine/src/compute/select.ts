/**
 * Choosing the engine of a run, before its folder exists: `auto` takes torch when the
 * configured Python imports a usable torch, else tfjs, and says why; an explicit engine that
 * cannot run is one line naming the cause and the fix. The resolved choice (engine, Python
 * path, device, precision) is what the run records and what a resume re-uses.
 */
import { loadEngine, modelProblem } from './engines';
import type { EngineName, EngineRequest, ModelKind, TorchOptionsJson } from './types';

export class EngineError extends Error {}

export interface EngineChoice {
  engine: EngineName;
  torch?: TorchOptionsJson;
  /** In words: what was chosen and why (printed at the start of a run). */
  note: string;
  /** Worker count when the run asks for none (torch on GPUs: one per GPU). */
  defaultWorkers?: number;
}

const PRECISIONS = ['auto', 'fp32', 'bf16', 'fp16'];

export function chooseEngine(req: EngineRequest, model: ModelKind): EngineChoice {
  req = { ...req, model };
  const asked = req.engine ?? 'auto';
  if (!['auto', 'tfjs', 'torch'].includes(asked)) throw new EngineError(`unknown engine '${asked}' (engines: auto, tfjs, torch)`);
  if (req.precision !== undefined && !PRECISIONS.includes(req.precision)) throw new EngineError(`unknown precision '${req.precision}' (precisions: ${PRECISIONS.join(', ')})`);
  const torchAsked = req.device !== undefined || req.precision !== undefined || req.compile;
  if (asked === 'tfjs') {
    const p = modelProblem('tfjs', model);
    if (p) throw new EngineError(p);
    if (req.imageFolder) throw new EngineError('image folders (one subfolder per class) are read by the torch engine: use --engine torch');
    if (torchAsked) throw new EngineError('--device, --precision and --compile are settings of the torch engine; drop them or use --engine torch');
    return { engine: 'tfjs', note: 'engine tfjs (asked)' };
  }
  const ready = loadEngine('torch').prepare!(req);
  if (asked === 'torch' || torchAsked) {
    if (!ready.ok) throw new EngineError(ready.problem);
    return { engine: 'torch', torch: ready.torch, defaultWorkers: ready.defaultWorkers, note: `engine torch (${asked === 'torch' ? 'asked' : 'auto'}): ${ready.summary}` };
  }
  if (ready.ok) return { engine: 'torch', torch: ready.torch, defaultWorkers: ready.defaultWorkers, note: `engine torch (auto: this Python has torch): ${ready.summary}` };
  const p = modelProblem('tfjs', model) ?? (req.imageFolder ? 'image folders (one subfolder per class) are read by the torch engine' : undefined);
  if (p) throw new EngineError(`${p}, but the torch engine cannot run: ${ready.problem}`);
  return { engine: 'tfjs', note: `engine tfjs (auto: ${ready.problem})` };
}
