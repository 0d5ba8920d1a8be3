/** Compute records in words, for the CLI's tables and logs. */
import type { BackendJson } from './types';

/** The compute a run used, in a few words: the tfjs backend, or torch with its device and precision. */
export function describeBackend(be: BackendJson | null | undefined): string {
  if (!be) return 'backend unknown';
  if (be.torch) {
    const t = be.torch;
    return `engine torch ${t.torch} on ${t.device} (${t.deviceName}) · ${t.precision}${t.cuda ? ` · CUDA ${t.cuda}` : ''}${t.compile ? ' · compiled' : ''}`;
  }
  return `engine tfjs · backend ${be.name} (${be.device}, ${be.threads} thread${be.threads === 1 ? '' : 's'})`;
}
