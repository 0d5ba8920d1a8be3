/**
 * The words of the Evaluate and Evolve quick picks (pure; tested): the "Quick trial" preset, the
 * first question (Quick trial / Re-run with the last settings / Choose the settings), the tag of
 * the remembered choice ("default" until something was chosen in this workspace, then "last
 * used") and a one-line summary of a set of choices.
 */
import type { CompareChoices } from './cli-args';
import { estimateCompare, estimateText, type RecordedRun } from './estimate';

/** A first look that finishes in about a minute on 2 CPU cores (LeNet trains to ~89% on 3,000 digits in 2 epochs). */
export const QUICK_TRIAL: CompareChoices = { dataset: 'mnist', model: 'lenet', augmentations: ['none'], seeds: 2, epochs: 2, maxTrain: 3000 };

/** The tag of the item that is pre-selected: 'default' in a fresh workspace, else 'last used'. */
export const rememberedTag = (stored: boolean): string => (stored ? 'last used' : 'default');

/** "lenet · mnist · none · 2 seeds × 2 epochs · 3,000 examples". */
export function choicesSummary(c: CompareChoices): string {
  const size = c.maxTrain ? `${c.maxTrain.toLocaleString('en-US')} examples` : 'all examples';
  const engine = c.engine && c.engine !== 'auto' ? [c.engine === 'torch' && c.device && c.device !== 'auto' ? `torch ${c.device}` : c.engine] : [];
  return [c.model, c.dataset, c.augmentations.join(', ') || 'none', `${c.seeds} seed${c.seeds === 1 ? '' : 's'} × ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}`, size, ...engine].join(' · ');
}

export type StartAction = 'quick' | 'last' | 'choose';

export interface StartItem {
  label: string;
  description: string;
  detail: string;
  action: StartAction;
}

/** The first question of an evaluation; `last` only when choices were remembered in this workspace. */
export function startItems(last: CompareChoices | undefined, records: readonly RecordedRun[], losses = 1): StartItem[] {
  const est = (c: CompareChoices): string => estimateText(estimateCompare(c, records, losses), c.model);
  const items: StartItem[] = [
    { label: '$(zap) Quick trial', description: est(QUICK_TRIAL), detail: `${choicesSummary(QUICK_TRIAL)} (a first look: too few seeds for a verdict)`, action: 'quick' },
  ];
  if (last) items.push({ label: '$(history) Re-run with the last settings', description: est(last), detail: choicesSummary(last), action: 'last' });
  items.push({ label: '$(settings-gear) Choose the settings…', description: '7 questions, with a time estimate', detail: 'dataset, engine and device, model, augmentations, seeds, epochs, training examples', action: 'choose' });
  return items;
}
