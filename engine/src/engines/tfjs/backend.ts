/**
 * Choosing and initialising the tfjs backend.
 *
 * Preference order: `tensorflow-gpu` (@tensorflow/tfjs-node-gpu), `tensorflow`
 * (@tensorflow/tfjs-node), `wasm` (@tensorflow/tfjs-backend-wasm, with our training kernels),
 * `cpu` (pure JS). The native packages are optional: they are looked for in our own
 * node_modules and in an optional extra folder (`backendsDir`, where `lossmith backend
 * install` puts them), and a MODULE_NOT_FOUND is the normal case. There is only ever one tf
 * instance: the one from '@tensorflow/tfjs' that this module imports; a native package loaded
 * from `backendsDir` has its '@tensorflow/tfjs*' requests redirected to it.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { registerWasmTrainingKernels } from './kernels';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendOptions {
  /** Extra node_modules folder holding native backends, e.g. ~/.lossmith/backends/node_modules. */
  backendsDir?: string;
  /** Folder holding tfjs-backend-wasm*.wasm (for bundled builds); default: the package's dist. */
  wasmDir?: string;
}

export interface BackendStatus {
  name: BackendName;
  available: boolean;
  /** Why not, in plain words (only when unavailable, or a caveat when available). */
  reason?: string;
  device?: 'gpu' | 'cpu';
}

export interface BackendInfo {
  name: BackendName;
  device: 'gpu' | 'cpu';
  threads: number;
  detail: string;
  warnings: string[];
}

const NATIVE_PACKAGE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

interface NativeLoad {
  ok: boolean;
  reason?: string;
  from?: string;
}
const nativeLoads = new Map<string, NativeLoad>();

/** Defined (true) by the engine's esbuild bundle (dist/engine), where tf is compiled in, not in a node_modules. */
declare const LOSSMITH_BUNDLED: boolean | undefined;
const BUNDLED = typeof LOSSMITH_BUNDLED !== 'undefined' && LOSSMITH_BUNDLED === true;

type ModuleStatics = {
  _resolveFilename: (req: string, ...rest: unknown[]) => string;
  _cache: Record<string, unknown>;
  new (id: string): { filename: string; loaded: boolean; exports: unknown };
};

/**
 * In the bundle, what a native package asks of tfjs is our compiled-in instance: '@tensorflow/tfjs'
 * and '-core' are `tf` itself (tfjs re-exports all of core), and the two modules tfjs-node
 * requires only for their side effects (gradients and chained ops, registered by the bundled
 * core already) are empty. Returns the id of a ready module in the require cache, else undefined.
 */
function bundledTfModule(Module: ModuleStatics, request: string): string | undefined {
  let exports: unknown;
  if (request === '@tensorflow/tfjs' || request === '@tensorflow/tfjs-core') exports = tf;
  else if (request === '@tensorflow/tfjs-core/dist/register_all_gradients' || request === '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops') exports = {};
  else return undefined;
  const id = path.join(__dirname, 'bundled-tfjs', `${request}.js`);
  if (!Module._cache[id]) {
    const m = new Module(id);
    m.filename = id;
    m.loaded = true;
    m.exports = exports;
    Module._cache[id] = m;
  }
  return id;
}

/** Resolve '@tensorflow/tfjs*' (except the package being loaded) to our own copies. */
function withTfAliases<T>(pkg: string, fn: () => T): T {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const Module = require('module') as ModuleStatics;
  const orig = Module._resolveFilename;
  Module._resolveFilename = function (request: string, ...rest: unknown[]): string {
    const own = BUNDLED ? bundledTfModule(Module, request) : undefined;
    if (own) return own;
    if (/^@tensorflow\/tfjs(-core|-layers|-converter|-data|-backend-cpu|-backend-webgl)?(\/.*)?$/.test(request) && !request.startsWith(pkg)) {
      try {
        return require.resolve(request);
      } catch {
        /* fall through to the normal resolution */
      }
    }
    return orig.call(this, request, ...rest);
  };
  try {
    return fn();
  } finally {
    Module._resolveFilename = orig;
  }
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0];
}

function loadNative(name: 'tensorflow-gpu' | 'tensorflow', opts: BackendOptions): NativeLoad {
  const pkg = NATIVE_PACKAGE[name];
  const key = `${pkg}|${opts.backendsDir ?? ''}`;
  const cached = nativeLoads.get(key);
  if (cached) return cached;
  const other = NATIVE_PACKAGE[name === 'tensorflow' ? 'tensorflow-gpu' : 'tensorflow'];
  if ([...nativeLoads].some(([k, v]) => k.startsWith(other + '|') && v.ok)) {
    // Both register the 'tensorflow' backend and link their own libtensorflow.
    return { ok: false, reason: `${other} is already loaded in this process; only one native TensorFlow can be used at a time` };
  }
  const places: (string | undefined)[] = [undefined, opts.backendsDir];
  let result: NativeLoad = {
    ok: false,
    reason: `not installed (npm package ${pkg} not found${opts.backendsDir ? ` here or in ${opts.backendsDir}` : ''}; it needs a libtensorflow download at install time)`,
  };
  for (const dir of places) {
    let file: string;
    try {
      file = dir === undefined ? require.resolve(pkg) : require.resolve(pkg, { paths: [dir] });
    } catch {
      continue; // MODULE_NOT_FOUND: the normal case on machines without it
    }
    try {
      withTfAliases(pkg, () => require(file));
      const registry = (tf.engine() as unknown as { registryFactory?: Record<string, unknown> }).registryFactory;
      if (!registry?.['tensorflow']) {
        result = { ok: false, reason: `${pkg} loaded but registered no 'tensorflow' backend with this tf instance (version mismatch?)` };
      } else {
        result = { ok: true, from: file };
      }
    } catch (e) {
      result = { ok: false, reason: `${pkg} is installed but failed to load: ${firstLine(e)}` };
    }
    break;
  }
  nativeLoads.set(key, result);
  return result;
}

/** Which of the CUDA libraries tfjs-node-gpu 4.x needs are missing from the library path. */
function missingCudaLibs(): string[] {
  const wanted = ['libcudart.so.11.0', 'libcudnn.so.8'];
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  dirs.push('/usr/local/cuda/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib');
  let ldcache = '';
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    ldcache = (require('child_process') as typeof import('child_process'))
      .execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    /* no ldconfig */
  }
  return wanted.filter((lib) => !ldcache.includes(lib) && !dirs.some((d) => fs.existsSync(path.join(d, lib))));
}

/** The folder holding the wasm binaries: the override, else beside the engine's bundle, else the package's dist folder. */
export function wasmBinaryDir(opts: BackendOptions = {}): string | undefined {
  if (opts.wasmDir) return opts.wasmDir;
  if (BUNDLED && fs.existsSync(path.join(__dirname, 'tfjs-backend-wasm.wasm'))) return __dirname;
  try {
    return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  } catch {
    return undefined;
  }
}

let wasmModule: typeof import('@tensorflow/tfjs-backend-wasm') | undefined;
function loadWasm(opts: BackendOptions): NativeLoad {
  try {
    wasmModule ??= require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-wasm failed to load: ${firstLine(e)}` };
  }
  const dir = wasmBinaryDir(opts);
  if (!dir || !fs.existsSync(path.join(dir, 'tfjs-backend-wasm.wasm'))) {
    return { ok: false, reason: `tfjs-backend-wasm.wasm not found${dir ? ` in ${dir}` : ''} (pass wasmDir)` };
  }
  return { ok: true, from: dir };
}

export async function listBackends(opts: BackendOptions = {}): Promise<BackendStatus[]> {
  const out: BackendStatus[] = [];
  for (const name of BACKEND_NAMES) {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      const l = loadNative(name, opts);
      const st: BackendStatus = { name, available: l.ok, ...(l.reason ? { reason: l.reason } : {}) };
      if (l.ok) {
        if (name === 'tensorflow') st.device = 'cpu';
        else {
          const missing = missingCudaLibs();
          st.device = missing.length ? 'cpu' : 'gpu';
          if (missing.length) st.reason = `loads, but would run on the CPU: ${missing.join(', ')} not found (needs CUDA 11.2 + cuDNN 8.1)`;
        }
      }
      out.push(st);
    } else if (name === 'wasm') {
      const l = loadWasm(opts);
      out.push({ name, available: l.ok, device: 'cpu', ...(l.reason ? { reason: l.reason } : {}) });
    } else {
      out.push({ name, available: true, device: 'cpu' });
    }
  }
  return out;
}

async function activate(name: BackendName, opts: BackendOptions): Promise<BackendInfo> {
  const warnings: string[] = [];
  if (name === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs cpu backend failed to initialise');
    return { name, device: 'cpu', threads: 1, detail: 'tfjs pure-JS cpu backend (slow: for checks only)', warnings };
  }
  if (name === 'wasm') {
    const l = loadWasm(opts);
    if (!l.ok) throw new Error(l.reason);
    if (!tf.findBackend('wasm')) {
      // setWasmPaths only matters before the first initialisation.
      wasmModule!.setWasmPaths(l.from!.endsWith(path.sep) ? l.from! : l.from! + path.sep);
    }
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error(`wasm backend failed to initialise (binaries in ${l.from})`);
    const b = tf.backend() as unknown as { wasm: { tfjs: { getThreadsCount(): number } } };
    const threads = b.wasm.tfjs.getThreadsCount();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    if (!simd) warnings.push('WebAssembly SIMD unavailable: training will be several times slower');
    return {
      name, device: 'cpu', threads,
      detail: `tfjs wasm (XNNPACK${simd ? ', SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}) + Lossmith training kernels; binaries from ${l.from}`,
      warnings,
    };
  }
  // Native TensorFlow (CPU or GPU package): everything below is shared.
  const l = loadNative(name, opts);
  if (!l.ok) throw new Error(`${name}: ${l.reason}`);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${name}: the 'tensorflow' backend failed to initialise`);
  const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean; binding?: { isUsingGpuDevice?: () => boolean; TF_Version?: string } };
  let device: 'gpu' | 'cpu' = 'cpu';
  if (name === 'tensorflow-gpu') {
    const gpu = b.isUsingGpuDevice ?? b.binding?.isUsingGpuDevice?.() ?? false;
    device = gpu ? 'gpu' : 'cpu';
    if (!gpu) {
      const missing = missingCudaLibs();
      warnings.push(
        'tfjs-node-gpu loaded but registered no GPU device, so it runs on the CPU. It needs CUDA 11.2 + cuDNN 8.1' +
          (missing.length ? `; missing: ${missing.join(', ')}` : ' and a visible NVIDIA GPU (check nvidia-smi and the driver)')
      );
    }
  }
  const threads = os.cpus().length;
  return {
    name, device, threads,
    detail: `TensorFlow ${b.binding?.TF_Version ?? ''} native via ${NATIVE_PACKAGE[name]} (${l.from})`.replace('  ', ' '),
    warnings,
  };
}

/**
 * Set tf's backend. 'auto' takes the first that works in preference order; a named backend
 * that fails throws with the reason.
 */
export async function initBackend(pref: 'auto' | BackendName = 'auto', opts: BackendOptions = {}): Promise<BackendInfo> {
  if (pref !== 'auto') return activate(pref, opts);
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const info = await activate(name, opts);
      if (skipped.length) info.detail += ` [skipped: ${skipped.join('; ')}]`;
      return info;
    } catch (e) {
      skipped.push(firstLine(e));
    }
  }
  throw new Error(`no tfjs backend could be initialised: ${skipped.join('; ')}`);
}
