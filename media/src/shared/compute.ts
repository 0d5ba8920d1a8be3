/**
 * What a run computed on, as the panels, the Runs view and the status bar say it (pure; tested):
 * a `BackendJson` of protocol/run-events.ts (a `backend` event, a compare summary's `backend`, an
 * evolve summary's `compute`) validated field by field, and its one-line forms:
 *
 *   torch 2.11.0 · cuda:0 NVIDIA H100 80GB HBM3 · bf16 · CUDA 13.0     (computeLine)
 *   tfjs · wasm (cpu, 1 thread)
 *   torch cuda:0 / wasm (CPU)                                          (computeShort)
 */
import type { BackendJson } from '../../../protocol/run-events';
import { isInt, isObj, isStr, strOr } from './validate';

export interface TorchCompute {
  /** torch.__version__ without its local part (2.11.0, not 2.11.0+cu130). */
  version: string;
  cuda: string | null;
  /** 'cuda:0', 'cpu', 'mps'. */
  device: string;
  /** 'NVIDIA H100 80GB HBM3', 'cpu (8 threads)'. */
  deviceName: string;
  precision: string;
  compile: boolean;
}

export interface ComputeInfo {
  engine: 'tfjs' | 'torch';
  /** The tfjs backend, or 'torch'. */
  name: BackendJson['name'] | string;
  device: 'gpu' | 'cpu';
  threads: number | null;
  torch: TorchCompute | null;
}

/** A BackendJson from a run file or event, or undefined when it is not one. */
export function parseCompute(x: unknown): ComputeInfo | undefined {
  if (!isObj(x) || !isStr(x.name, 100) || !x.name) return undefined;
  const engine = x.engine === 'torch' || x.engine === 'tfjs' ? x.engine : x.name === 'torch' ? 'torch' : 'tfjs';
  const t = isObj(x.torch) ? x.torch : undefined;
  const torch: TorchCompute | null =
    t && isStr(t.torch, 100) && isStr(t.device, 100)
      ? {
          version: t.torch.replace(/\+.*$/, ''),
          cuda: isStr(t.cuda, 50) ? t.cuda : null,
          device: t.device,
          deviceName: strOr(t.deviceName, '', 200),
          precision: strOr(t.precision, '', 20),
          compile: t.compile === true,
        }
      : null;
  return { engine, name: x.name, device: x.device === 'gpu' ? 'gpu' : 'cpu', threads: isInt(x.threads, 1, 1e6) ? x.threads : null, torch };
}

/** The engine and device in full, for the panels' metadata. */
export function computeLine(c: ComputeInfo): string {
  if (c.engine === 'torch') {
    const t = c.torch;
    if (!t) return `torch · ${c.device}`;
    // The CPU's name already says it is the CPU ('cpu (8 threads)').
    const device = t.deviceName && t.deviceName.toLowerCase().startsWith(t.device.toLowerCase()) ? t.deviceName : [t.device, t.deviceName].filter(Boolean).join(' ');
    return [`torch ${t.version}`, device, t.precision, t.compile ? 'torch.compile' : '', t.cuda && t.device.startsWith('cuda') ? `CUDA ${t.cuda}` : ''].filter(Boolean).join(' · ');
  }
  const threads = c.threads === null ? '' : `, ${c.threads} thread${c.threads === 1 ? '' : 's'}`;
  return `tfjs · ${c.name} (${c.device}${threads})`;
}

/** The engine and device in a few words, for the Runs view and progress notifications. */
export function computeShort(c: ComputeInfo): string {
  if (c.engine === 'torch') return c.torch ? `torch ${c.torch.device}` : `torch (${c.device.toUpperCase()})`;
  return `${c.name} (${c.device.toUpperCase()})`;
}

/** Adds `c` to `list` unless the same engine and device line is already there. */
export function addCompute(list: ComputeInfo[], c: ComputeInfo | undefined): void {
  if (c && !list.some((x) => computeLine(x) === computeLine(c))) list.push(c);
}
