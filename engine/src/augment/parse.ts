/**
 * Augmentation specs as written in run configs and on the command line:
 *
 *   none | flipcrop[:pad] | cutout[:size] | mixup[:alpha] | cutmix[:alpha[:prob]] | randaugment[:N[:M]]
 *
 * and '+' to chain several, applied left to right (e.g. 'flipcrop+cutout:8', 'randaugment:2:9+mixup').
 * Defaults: flipcrop pad 4; cutout size half the image side (16 on 32x32); mixup alpha 1;
 * cutmix alpha 1, prob 1; randaugment N 2, M 9 (M/10 of each op's maximum).
 * The returned name is canonical (defaults filled in, except cutout's size-dependent default).
 */
import type { Augment } from './types';
import { cutout, flipcrop, none } from './basic';
import { cutmix, mixup } from './mix';
import { randaugment } from './randaugment';

export interface ParsedAugment {
  name: string;
  augment: Augment;
}

export const AUGMENT_NAMES = ['none', 'flipcrop', 'cutout', 'mixup', 'cutmix', 'randaugment'] as const;

export const AUGMENT_DOCS: Record<(typeof AUGMENT_NAMES)[number], string> = {
  none: 'no augmentation',
  flipcrop: 'flipcrop[:pad=4]: random horizontal flip + random crop after zero-padding by pad pixels',
  cutout: 'cutout[:size]: zero one size x size square at a random centre (default half the image side)',
  mixup: 'mixup[:alpha=1]: convex combination of image pairs and their targets, lambda ~ Beta(alpha, alpha)',
  cutmix: 'cutmix[:alpha=1[:prob=1]]: paste a random box from a partner image; targets mixed by pasted area',
  randaugment: 'randaugment[:N=2[:M=9]]: N random ops per image at magnitude M in [0, 10]',
};

function num(spec: string, what: string, s: string | undefined, def: number, integer: boolean): number {
  if (s === undefined || s === '') return def;
  const v = Number(s);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new Error(`augmentation '${spec}': ${what} must be ${integer ? 'an integer' : 'a number'}, got '${s}'`);
  }
  return v;
}

function parseOne(part: string, whole: string): ParsedAugment {
  const [rawName, ...args] = part.split(':').map((s) => s.trim());
  const name = rawName.toLowerCase();
  const maxArgs: Record<string, number> = { none: 0, flipcrop: 1, cutout: 1, mixup: 1, cutmix: 2, randaugment: 2 };
  if (!(name in maxArgs)) {
    throw new Error(`unknown augmentation '${rawName}' in '${whole}' (known: ${AUGMENT_NAMES.join(', ')})`);
  }
  if (args.length > maxArgs[name]) {
    throw new Error(`augmentation '${part}': ${name} takes at most ${maxArgs[name]} parameter${maxArgs[name] === 1 ? '' : 's'}`);
  }
  switch (name) {
    case 'none':
      return { name: 'none', augment: none };
    case 'flipcrop': {
      const pad = num(part, 'padding', args[0], 4, true);
      return { name: `flipcrop:${pad}`, augment: flipcrop(pad) };
    }
    case 'cutout': {
      if (args[0] === undefined || args[0] === '') return { name: 'cutout', augment: cutout() };
      const size = num(part, 'size', args[0], 0, true);
      return { name: `cutout:${size}`, augment: cutout(size) };
    }
    case 'mixup': {
      const alpha = num(part, 'alpha', args[0], 1, false);
      return { name: `mixup:${alpha}`, augment: mixup(alpha) };
    }
    case 'cutmix': {
      const alpha = num(part, 'alpha', args[0], 1, false);
      const prob = num(part, 'probability', args[1], 1, false);
      return { name: `cutmix:${alpha}:${prob}`, augment: cutmix(alpha, prob) };
    }
    default: {
      const n = num(part, 'N', args[0], 2, true);
      const m = num(part, 'M', args[1], 9, false);
      return { name: `randaugment:${n}:${m}`, augment: randaugment(n, m) };
    }
  }
}

/** Parses an augmentation spec (see the module comment); throws an Error saying what is wrong. */
export function parseAugment(spec: string): ParsedAugment {
  const s = spec.trim();
  if (s === '') return parseOne('none', spec);
  const parts = s.split('+').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new Error(`augmentation '${spec}': empty part around '+'`);
  const parsed = parts.map((p) => parseOne(p, spec));
  const real = parsed.filter((p) => p.name !== 'none');
  if (real.length === 0) return parsed[0];
  if (real.length === 1) return real[0];
  return {
    name: real.map((p) => p.name).join('+'),
    augment: (batch, rng) => real.reduce((b, p) => p.augment(b, rng), batch),
  };
}
