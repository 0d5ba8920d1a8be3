/**
 * The engine/device step of the run quick picks (pure; tested on recorded `lossmith backend
 * --json` output): the engine CLI's report parsed and checked field by field (it comes from
 * another process and another Python), and the items built from it:
 *
 *   torch · cuda (NVIDIA H100 80GB HBM3, 80 GiB) · bf16
 *   torch · cpu · fp32
 *   tfjs (embedded) · wasm
 *   torch · not available            (not selectable: its detail says why, and how to fix it)
 *
 * The first item is the default: the one the settings (lossmith.engine, lossmith.device,
 * lossmith.precision) ask for, else the last one used, else what `--engine auto` picks.
 */
import type { EngineName } from '../../../protocol/run-events';
import type { TorchPrecision, TorchProbe } from '../../../protocol/torch-task';
import { isFiniteNum, isInt, isObj, isStr, type Obj } from '../../../media/src/shared/validate';
import type { ComputeChoices } from './cli-args';
import type { PythonChoice } from './python';

export interface TfjsBackendStatus {
  name: string;
  available: boolean;
  reason?: string;
  device?: 'gpu' | 'cpu';
}

/** The torch engine's probe as checked here (protocol's TorchProbe, without its `error`: that is `problem`). */
export type TorchProbeInfo = Omit<TorchProbe, 'error'>;

/** `lossmith backend --json`, checked. */
export interface EngineReport {
  auto: EngineName;
  tfjs: { available: boolean; backends: TfjsBackendStatus[] };
  torch: { available: boolean; problem?: string; probe: TorchProbeInfo | null };
}

const str = (x: unknown, max = 2000): string | undefined => (isStr(x, max) ? x : undefined);

function parseProbe(d: Obj): TorchProbeInfo {
  const gpus = Array.isArray(d.gpus)
    ? d.gpus.filter(isObj).slice(0, 64).flatMap((g) => (isInt(g.index, 0, 1000) && isStr(g.name, 200) ? [{ index: g.index, name: g.name, memoryGiB: isFiniteNum(g.memoryGiB) ? g.memoryGiB : 0, capability: str(g.capability, 20) ?? '' }] : []))
    : [];
  return {
    python: str(d.python, 100) ?? '',
    executable: str(d.executable) ?? '',
    torch: str(d.torch, 100) ?? null,
    torchvision: str(d.torchvision, 100) ?? null,
    cuda: str(d.cuda, 50) ?? null,
    cudnn: isFiniteNum(d.cudnn) ? d.cudnn : null,
    cudaAvailable: d.cudaAvailable === true,
    ...(str(d.cudaReason) ? { cudaReason: str(d.cudaReason) } : {}),
    mps: d.mps === true,
    bf16: d.bf16 === true,
    compile: d.compile === true,
    gpus,
  };
}

/** The report from the CLI's stdout (its last JSON line), or why it is not one. */
export function parseEngineReport(stdout: string): EngineReport | { error: string } {
  const line = stdout.trim().split('\n').filter((l) => l.trim().startsWith('{')).pop();
  let raw: unknown;
  try {
    raw = line ? JSON.parse(line) : undefined;
  } catch {
    raw = undefined;
  }
  if (!isObj(raw) || !Array.isArray(raw.engines)) return { error: 'the engine CLI printed no engine list (is it older than the torch engine? `lossmith backend --json` should list `engines`)' };
  const entry = (name: EngineName): Obj | undefined => (raw as { engines: unknown[] }).engines.filter(isObj).find((e) => e.engine === name);
  const tfjsEntry = entry('tfjs');
  const tfjsDetails = tfjsEntry && isObj(tfjsEntry.details) ? tfjsEntry.details : raw;
  const backends: TfjsBackendStatus[] = (Array.isArray(tfjsDetails.backends) ? tfjsDetails.backends : []).filter(isObj).flatMap((b) =>
    isStr(b.name, 50) && /^[\w-]+$/.test(b.name)
      ? [{ name: b.name, available: b.available === true, ...(str(b.reason) ? { reason: str(b.reason) } : {}), ...(b.device === 'gpu' || b.device === 'cpu' ? { device: b.device } : {}) }]
      : [],
  );
  const torchEntry = entry('torch');
  const details = torchEntry && isObj(torchEntry.details) ? torchEntry.details : undefined;
  const torchAvailable = torchEntry?.available === true;
  const problem = details ? str(details.problem) : 'the engine CLI did not report the torch engine';
  return {
    auto: raw.auto === 'torch' ? 'torch' : 'tfjs',
    tfjs: { available: tfjsEntry ? tfjsEntry.available === true : backends.some((b) => b.available), backends },
    torch: { available: torchAvailable, ...(problem && !torchAvailable ? { problem } : {}), probe: details ? parseProbe(details) : null },
  };
}

export interface ComputeSettings {
  engine: 'auto' | EngineName;
  device: string;
  precision: TorchPrecision;
}

export interface ComputeItem {
  engine: EngineName;
  /** The torch device (undefined: the engine as a whole). */
  device?: string;
  label: string;
  description?: string;
  detail?: string;
  /** What the item runs with; undefined when it cannot run (see `problem`). */
  choice?: ComputeChoices;
  /** Why this engine or device cannot be used, with the fix (one line). */
  problem?: string;
}

const gib = (g: number): string => `${g >= 10 ? Math.round(g) : g.toFixed(1)} GiB`;
const isCuda = (d: string): boolean => /^cuda(:\d+)?$/.test(d);

/** What a torch item trains in: the setting, or what `auto` gives (bf16 on CUDA GPUs that have it). */
function precisionFor(device: string, setting: TorchPrecision, probe: TorchProbeInfo): { shown: string; pass?: TorchPrecision; note?: string } {
  if (!isCuda(device)) {
    // The engine refuses bf16/fp16 off CUDA; say so rather than fail the run.
    return setting === 'bf16' || setting === 'fp16' ? { shown: 'fp32', note: `lossmith.precision ${setting} is for CUDA GPUs: fp32 here` } : { shown: 'fp32' };
  }
  if (setting === 'auto') return { shown: probe.bf16 ? 'bf16' : 'fp32' };
  return { shown: setting, pass: setting };
}

/** `cuda:0` and `cuda` are the same device on a machine with one GPU. */
function sameDevice(a: string, b: string, gpus: number): boolean {
  const norm = (d: string): string => (gpus === 1 && d === 'cuda:0' ? 'cuda' : d);
  return norm(a) === norm(b);
}

/** The device `--device auto` gives with this probe: the GPUs, Apple's GPU, else the CPU. */
export function autoDevice(p: TorchProbeInfo): string {
  if (p.cudaAvailable && p.gpus.length) return 'cuda';
  if (p.mps) return 'mps';
  return 'cpu';
}

function torchItems(report: EngineReport, settings: ComputeSettings, py: PythonChoice): ComputeItem[] {
  const p = report.torch.probe;
  const where = `Python ${p?.python ? `${p.python} ` : ''}at ${p?.executable || py.shown}, from ${py.from}`;
  if (!report.torch.available || !p || !p.torch) {
    const problem = report.torch.problem ?? 'the torch engine is not usable with this Python';
    return [{ engine: 'torch', label: '$(circle-slash) torch · not available', description: 'your Python + PyTorch', detail: `${problem} · Python from ${py.from}`, problem }];
  }
  const versions = [`torch ${p.torch}`, p.cuda ? `CUDA ${p.cuda}` : 'CPU-only build', p.cudnn ? `cuDNN ${p.cudnn}` : ''].filter(Boolean).join(', ');
  const detail = `${versions} · ${where}`;
  const item = (device: string, what: string): ComputeItem => {
    const pr = precisionFor(device, settings.precision, p);
    return {
      engine: 'torch',
      device,
      label: `torch · ${what} · ${pr.shown}`,
      description: [isCuda(device) || device === 'mps' ? 'GPU' : 'CPU', pr.note].filter(Boolean).join(' · '),
      detail,
      choice: { engine: 'torch', device, ...(pr.pass ? { precision: pr.pass } : {}), ...(py.python ? { python: py.python } : {}) },
    };
  };
  const items: ComputeItem[] = [];
  if (p.cudaAvailable && p.gpus.length) {
    const g = p.gpus;
    if (g.length === 1) items.push(item('cuda', `cuda (${g[0].name}, ${gib(g[0].memoryGiB)})`));
    else {
      items.push(item('cuda', `cuda (${g.length} GPUs: ${[...new Set(g.map((x) => x.name))].join(', ')}; trainings spread over them)`));
      for (const x of g) items.push(item(`cuda:${x.index}`, `cuda:${x.index} (${x.name}, ${gib(x.memoryGiB)})`));
    }
  }
  if (p.mps) items.push(item('mps', 'mps (Apple GPU)'));
  items.push(item('cpu', 'cpu'));
  if (!(p.cudaAvailable && p.gpus.length) && !p.mps) {
    // Why there is no GPU item: the one question everyone has.
    const why = p.cuda ? (p.cudaReason ?? `torch is built for CUDA ${p.cuda} but sees no GPU (check the NVIDIA driver with nvidia-smi)`) : `this torch (${p.torch}) is a CPU-only build: install a CUDA build of PyTorch to train on an NVIDIA GPU`;
    items.push({ engine: 'torch', device: 'cuda', label: '$(circle-slash) torch · cuda · not available', description: 'GPU', detail: `${why} · ${where}`, problem: why });
  }
  return items;
}

const TFJS_DETAIL: Record<string, string> = {
  'tensorflow-gpu': 'native TensorFlow with CUDA, in the engine\u2019s Node processes',
  tensorflow: 'native TensorFlow on the CPU, in the engine\u2019s Node processes',
  wasm: 'WebAssembly (XNNPACK) in the engine\u2019s Node processes: nothing to install; CPU only',
  cpu: 'plain JavaScript: the slow reference backend, for checking results',
};

function tfjsItems(report: EngineReport): ComputeItem[] {
  const available = report.tfjs.backends.filter((b) => b.available);
  if (!available.length) return [{ engine: 'tfjs', label: '$(circle-slash) tfjs (embedded) · not available', detail: 'no tfjs backend loads in this engine installation (`lossmith backend` says why)', problem: 'no tfjs backend loads in this engine installation' }];
  return available.map((b, i) => ({
    engine: 'tfjs' as const,
    label: `tfjs (embedded) · ${b.name}`,
    description: [(b.device ?? (b.name === 'tensorflow-gpu' ? 'gpu' : 'cpu')).toUpperCase(), i === 0 ? '' : 'not the first choice of --backend auto'].filter(Boolean).join(' · '),
    detail: b.reason ?? TFJS_DETAIL[b.name],
    // The first available backend is what the engine picks anyway: no --backend flag for it.
    choice: { engine: 'tfjs', ...(i === 0 ? {} : { backend: b.name }) },
  }));
}

/** Whether an item is the engine and device of `c` (an unusable one too: then its detail says why not). */
function matches(item: ComputeItem, c: ComputeChoices, report: EngineReport): boolean {
  if (item.engine !== c.engine) return false;
  if (c.engine === 'tfjs') return (item.choice?.backend ?? 'auto') === (c.backend ?? 'auto');
  const probe = report.torch.probe;
  const device = !c.device || c.device === 'auto' ? (probe?.torch ? autoDevice(probe) : undefined) : c.device;
  return item.device === undefined || (device !== undefined && sameDevice(item.device, device, probe?.gpus.length ?? 0));
}

export interface ComputeItems {
  items: ComputeItem[];
  /** Why the list is what it is, when the engine could not say (the CLI failed). */
  note?: string;
}

/**
 * The items of the engine/device step, the default first. `settings` are the three settings;
 * `last` the choice remembered from the previous run (used only while the settings say auto).
 */
export function computeItems(report: EngineReport | { error: string }, settings: ComputeSettings, py: PythonChoice, last?: ComputeChoices): ComputeItems {
  if ('error' in report) {
    // The CLI could not list its engines: offer what the settings say, and let the run report.
    const choice: ComputeChoices = { engine: settings.engine, device: settings.device, precision: settings.precision, ...(py.python ? { python: py.python } : {}) };
    const what = [settings.engine, settings.engine !== 'tfjs' && settings.device !== 'auto' ? settings.device : '', settings.engine !== 'tfjs' && settings.precision !== 'auto' ? settings.precision : ''].filter(Boolean).join(' · ');
    return { items: [{ engine: settings.engine === 'torch' ? 'torch' : 'tfjs', label: `${what} (from the settings)`, description: 'could not list the engines', detail: report.error, choice }], note: report.error };
  }
  const torch = torchItems(report, settings, py);
  const tfjs = tfjsItems(report);
  const items = report.auto === 'torch' ? [...torch, ...tfjs] : [...tfjs, ...torch];
  // Usable items first (in the engine's order), the unavailable ones last.
  items.sort((a, b) => Number(!a.choice) - Number(!b.choice));
  const fromSettings = settings.engine !== 'auto' || settings.device !== 'auto';
  const auto: ComputeChoices = { engine: report.auto, device: 'auto' };
  const candidates: [ComputeChoices, string][] = fromSettings
    ? [[{ engine: settings.engine === 'auto' ? report.auto : settings.engine, device: settings.device }, 'from the settings']]
    : [...(last?.engine && last.engine !== 'auto' ? ([[last, 'last used']] as [ComputeChoices, string][]) : []), [auto, '--engine auto picks this']];
  for (const [wanted, tag] of candidates) {
    const i = items.findIndex((it) => matches(it, wanted, report));
    if (i < 0) continue;
    const first = { ...items[i], description: [items[i].description, tag].filter(Boolean).join(' · ') };
    return { items: [first, ...items.filter((_, j) => j !== i)] };
  }
  return { items };
}
