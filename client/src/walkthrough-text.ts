/**
 * The Getting Started walkthrough's pure parts (no vscode; tested): the sample loss that
 * "Write a loss" puts in the workspace, and the name it gets (never overwriting a file).
 */

/** The walkthrough's id in package.json (`contributes.walkthroughs`). */
export const WALKTHROUGH_ID = 'gettingStarted';

/** The sample: focal loss, commented so that a first reader can change it. */
export const SAMPLE_LOSS = `# My first loss: focal loss (Lin et al., 2017), cross-entropy scaled down on easy examples.
# Change it and watch the squiggles, the hovers and the derivative preview follow.
param gamma = 2.0 in [0, 5]     # a tunable constant with its allowed range
let pt = sum(y * p)             # p: softmax probabilities, y: one-hot target
loss focal = -(1 - pt)^gamma * log(pt)
`;

/** `my-loss.loss`, else `my-loss-2.loss`, ...: the first name `exists` says is free. */
export function freeLossName(exists: (name: string) => boolean, base = 'my-loss'): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? `${base}.loss` : `${base}-${i}.loss`;
    if (!exists(name)) return name;
  }
}
