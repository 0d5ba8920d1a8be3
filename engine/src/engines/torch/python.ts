/**
 * Finding the user's Python and what it has. Which Python is always explicit: `--python`,
 * the VS Code setting `lossmith.pythonPath` (or the Python extension's interpreter, passed as
 * --python by the client), the LOSSMITH_PYTHON environment variable, else `python3` on PATH;
 * whatever is used is named in every message, because a `python3` first on PATH (pyenv, a
 * venv, conda) is often not the one that has torch.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { TorchProbe } from '../../../../protocol/torch-task';

/** The folder holding the runner package (lossmith_torch), from the source or the compiled tree. */
export function runnerDir(): string {
  const candidates = [
    path.join(__dirname, 'torch'), // the bundle (dist/engine): next to the file
    path.join(__dirname, '..', '..', '..', 'torch'), // engine/src/engines/torch -> engine/torch
    path.join(__dirname, '..', '..', '..', '..', '..', 'engine', 'torch'), // out/engine/src/engines/torch -> engine/torch
  ];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'lossmith_torch', '__main__.py')));
  if (!found) throw new Error(`the torch runner (lossmith_torch) is missing from this installation (looked in ${candidates.join(', ')})`);
  return found;
}

/** The Python to use, as asked (flag or setting), else LOSSMITH_PYTHON, else python3. */
export function requestedPython(python?: string): string {
  return python || process.env.LOSSMITH_PYTHON || 'python3';
}

/** Environment for the runner: its package on PYTHONPATH, unbuffered output. */
export function runnerEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const dir = runnerDir();
  return {
    ...base,
    PYTHONPATH: base.PYTHONPATH ? `${dir}${path.delimiter}${base.PYTHONPATH}` : dir,
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    // Workers share the cores: OpenMP threads that spin while they wait take them from each
    // other (measured: a 40×40 U-Net epoch 17 s passive, 131 s spinning, on 2 busy cores).
    OMP_WAIT_POLICY: base.OMP_WAIT_POLICY ?? 'PASSIVE',
  };
}

const probes = new Map<string, TorchProbe & { ok: boolean; problem?: string }>();

export type ProbeResult = TorchProbe & {
  /** True when this Python imports a torch the runner supports. */
  ok: boolean;
  /** One line: why the torch engine cannot run with this Python, with the fix. */
  problem?: string;
};

/** Runs `python -m lossmith_torch --probe` (cached per Python for this process). */
export function probePython(python?: string): ProbeResult {
  const py = requestedPython(python);
  const cached = probes.get(py);
  if (cached) return cached;
  const r = spawnSync(py, ['-m', 'lossmith_torch', '--probe'], { env: runnerEnv(), encoding: 'utf8', timeout: 120_000 });
  let out: ProbeResult;
  const empty: TorchProbe = { python: '', executable: py, torch: null, torchvision: null, cuda: null, cudnn: null, cudaAvailable: false, mps: false, bf16: false, compile: false, gpus: [] };
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? `no Python at '${py}': install Python 3 with PyTorch, or name one with --python PATH (VS Code: setting lossmith.pythonPath)`
        : `could not run '${py}': ${r.error.message}`;
    out = { ...empty, ok: false, problem };
  } else {
    const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
    let probe: TorchProbe | undefined;
    try {
      probe = line ? (JSON.parse(line) as TorchProbe) : undefined;
    } catch {
      probe = undefined;
    }
    if (!probe) {
      const err = (r.stderr ?? '').trim().split('\n').pop() ?? '';
      out = { ...empty, ok: false, problem: `'${py}' did not run the torch runner's probe (exit ${r.status}${err ? `: ${err}` : ''}); is it Python 3.8 or newer?` };
    } else if (probe.error) {
      out = { ...probe, ok: false, problem: `${probe.error} (Python: ${probe.executable || py}; another one: --python PATH)` };
    } else {
      out = { ...probe, ok: true };
    }
  }
  probes.set(py, out);
  return out;
}

/** One line when `device` cannot be used with this probe, else undefined. */
export function deviceProblem(p: TorchProbe, device: string): string | undefined {
  if (device === 'cpu' || device === 'auto') return undefined;
  if (device === 'mps') return p.mps ? undefined : `device 'mps' asked but this torch (${p.torch}) sees no Apple GPU (torch.backends.mps.is_available() is false); use --device cpu`;
  const m = /^cuda(?::(\d+))?$/.exec(device);
  if (!m) return `unknown device '${device}' (devices: auto, cpu, cuda, cuda:N, mps)`;
  if (!p.cudaAvailable) {
    const why = p.cuda ? (p.cudaReason ?? `torch is built for CUDA ${p.cuda} but torch.cuda.is_available() is false`) : `this torch (${p.torch}) is a CPU-only build (torch.version.cuda is None)`;
    return `device '${device}' asked but CUDA is not usable: ${why}; check the NVIDIA driver with nvidia-smi, install a CUDA build of torch, or use --device cpu (Python: ${p.executable})`;
  }
  if (m[1] !== undefined && Number(m[1]) >= p.gpus.length) return `device '${device}' asked but torch sees ${p.gpus.length} GPU${p.gpus.length === 1 ? '' : 's'} (cuda:0${p.gpus.length > 1 ? `..cuda:${p.gpus.length - 1}` : ''})`;
  return undefined;
}

/** The concrete device for `auto`: the first GPU, Apple's GPU, else the CPU. */
export function resolveDevice(p: TorchProbe, device: string): string {
  if (device !== 'auto') return device;
  if (p.cudaAvailable && p.gpus.length > 0) return 'cuda';
  if (p.mps) return 'mps';
  return 'cpu';
}
