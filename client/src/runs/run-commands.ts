/**
 * The run commands: evaluate a loss against cross-entropy (quick picks that remember the last
 * choices), start an evolution, run a *.lossrun.json / *.evolve.json config, stop, and the Runs
 * view's actions (open results, resume, delete, reveal, open the best loss).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { EvaluationPanel } from '../panels/evaluation-panel';
import { EvolutionPanel } from '../panels/evolution-panel';
import { ComparePanel } from '../panels/compare-panel';
import { MAX_COMPARED_RUNS } from '../../../media/src/shared/run-messages';
import { pickLoss, resolveLossDocument } from '../export-command';
import type { RunItem, RunsTree } from '../runs-tree';
import { AUGMENTATIONS, compareArgs, compareLabel, configArgs, DATASETS, EPOCH_CHOICES, EVOLVE_SIZE_CHOICES, evolveArgs, lossRef, modelsFor, parseChoices, resumeArgs, SEED_CHOICES, SIZE_CHOICES, type CompareChoices, type ComputeChoices } from './cli-args';
import { computeSettings, pickCompute, resolvePython, ComputeProbe, type PickedCompute } from './compute-pick';
import type { PythonChoice } from './python';
import { lossLines } from './loss-lines';
import { bestLossFile, findRunDir, listRuns, recordedRuns, runLabel } from './run-files';
import { estimateCompare, estimateEvolve, estimateText } from './estimate';
import { choicesSummary, QUICK_TRIAL, rememberedTag, startItems } from './quick-picks';
import { isLive, type ActiveRun, type RunManager } from './run-manager';
import type { RunPanelHost } from './run-panel';

const CHOICES_KEY = 'lossmith.evaluate.choices';
/** The surrogate model `lossmith evolve` trains when none is named (engine/src/evolve/config.ts DEFAULT_SURROGATE). */
const EVOLVE_DEFAULT_MODEL = 'mlp';

export interface RunCommandsHost extends RunPanelHost {
  tree: RunsTree;
}

const folders = (): string[] => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);

function folderOf(uri: vscode.Uri): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? folders()[0] ?? path.dirname(uri.fsPath);
}

/** One step of the evaluation's quick picks; the remembered value (or the default: `tag`) comes first. */
async function pickOne<T>(title: string, step: number, total: number, items: { label: string; value: T; description?: string }[], last: T, tag: string, eq: (a: T, b: T) => boolean = (a, b) => a === b): Promise<T | undefined> {
  const sorted = [...items].sort((a, b) => Number(eq(b.value, last)) - Number(eq(a.value, last)));
  const picks = sorted.map((i) => ({ ...i, description: [i.description, eq(i.value, last) ? tag : ''].filter(Boolean).join(' · ') }));
  const r = await vscode.window.showQuickPick(picks, { title: `Evaluate vs cross-entropy (${step}/${total}): ${title}`, placeHolder: title, ignoreFocusOut: true });
  return r?.value;
}

const MODEL_NOTES: Record<string, string> = {
  mlp: 'fast, CPU friendly',
  convnet: 'small CNN',
  resnet9: 'slow without a GPU',
  'wrn-16-4': 'Wide ResNet 16-4, for a GPU',
  'wrn-28-10': 'Wide ResNet 28-10, for a big GPU',
  resnet18: 'ResNet-18, for a GPU',
};

/** The model step: the torch engine's own models only when it is the engine (marked when unknown). */
function modelItems(engine: ComputeChoices['engine']): { label: string; value: CompareChoices['model']; description?: string }[] {
  return modelsFor(engine).map(({ model, torchOnly }) => ({ label: model, value: model, description: [MODEL_NOTES[model], torchOnly && engine !== 'torch' ? 'torch engine only' : ''].filter(Boolean).join(' · ') }));
}

/** The output channel's line about where a run computes, and with which Python. */
function computeLog(kind: string, c: PickedCompute): string {
  return `${kind} on ${c.label}${c.choice.engine === 'tfjs' ? '' : `; Python for the torch engine: ${c.python.shown} (from ${c.python.from})`}`;
}

/**
 * A preset (Quick trial, or the last settings) with the compute of the settings and the
 * remembered engine: no engine question.
 */
async function presetChoices(host: RunCommandsHost, preset: CompareChoices, folder: vscode.Uri | undefined): Promise<CompareChoices> {
  const settings = computeSettings(folder);
  const py = await resolvePython(folder);
  const compute: ComputeChoices = { engine: preset.engine ?? settings.engine, backend: preset.backend, device: preset.device ?? settings.device, precision: preset.precision ?? settings.precision };
  host.log.info(`evaluation (${choicesSummary(preset)}) on engine ${compute.engine ?? 'auto'}${compute.engine === 'tfjs' ? '' : `; Python for the torch engine: ${py.shown} (from ${py.from})`}`);
  return { ...preset, ...compute, ...(py.python ? { python: py.python } : {}) };
}

async function askChoices(host: RunCommandsHost, probe: ComputeProbe, cwd: string, folder: vscode.Uri | undefined, loss: string): Promise<CompareChoices | undefined> {
  const { context } = host;
  const stored = context.workspaceState.get(CHOICES_KEY) !== undefined;
  const last = parseChoices(context.workspaceState.get(CHOICES_KEY));
  const tag = rememberedTag(stored);
  const records = recordedRuns(folders());
  // What the engine finds (it imports torch: seconds) is looked for while the first questions are answered.
  const start = (): ReturnType<ComputeProbe['start']> => probe.start(cwd, folder);
  const first = await vscode.window.showQuickPick(startItems(stored ? last : undefined, records), { title: `Evaluate ${loss} vs cross-entropy`, placeHolder: 'A quick trial, the last settings, or choose them', ignoreFocusOut: true, matchOnDescription: true, matchOnDetail: true });
  if (!first) return undefined;
  if (first.action !== 'choose') {
    const preset = first.action === 'quick' ? QUICK_TRIAL : last;
    host.log.info(`estimated time: ${estimateText(estimateCompare(preset, records), preset.model)}`);
    // Re-run repeats it; the questions then offer its values as the last used.
    await context.workspaceState.update(CHOICES_KEY, preset);
    return presetChoices(host, preset, folder);
  }
  const pending = start();
  const total = 7;
  const dataset = await pickOne('Dataset', 1, total, DATASETS.map((d) => ({ label: d, value: d })), last.dataset, tag);
  if (dataset === undefined) return undefined;
  const compute = await pickCompute(probe, start, pending, `Evaluate vs cross-entropy (2/${total}): Engine and device`, computeSettings(folder), last);
  if (!compute) return undefined;
  const model = await pickOne('Model', 3, total, modelItems(compute.choice.engine), last.model, tag);
  if (model === undefined) return undefined;
  const augPicks = AUGMENTATIONS.map((a) => ({ label: a, picked: last.augmentations.includes(a), description: last.augmentations.includes(a) ? tag : undefined }));
  const augs = await vscode.window.showQuickPick(augPicks, { title: `Evaluate vs cross-entropy (4/${total}): Augmentations (each compared separately)`, canPickMany: true, ignoreFocusOut: true, placeHolder: 'Augmentations' });
  if (!augs) return undefined;
  const seeds = await pickOne('Seeds (paired test needs 2 or more)', 5, total, SEED_CHOICES.map((s) => ({ label: `${s} seed${s === 1 ? '' : 's'}`, value: s })), last.seeds, tag);
  if (seeds === undefined) return undefined;
  const epochs = await pickOne('Epochs per training', 6, total, EPOCH_CHOICES.map((e) => ({ label: `${e} epoch${e === 1 ? '' : 's'}`, value: e })), last.epochs, tag);
  if (epochs === undefined) return undefined;
  // The last step says how long each choice takes with the others.
  const augmentations = augs.length ? augs.map((a) => a.label) : ['none'];
  const takes = (maxTrain: number | undefined): string => estimateText(estimateCompare({ dataset, model, augmentations, seeds, epochs, maxTrain }, records), model);
  const size = await pickOne<number | undefined>('Training examples (and the time it takes)', 7, total, SIZE_CHOICES.map((n) => ({ label: n ? `${n.toLocaleString('en-US')} examples` : 'the full training set', value: n, description: [takes(n), n && n <= 1000 ? 'a quick check' : ''].filter(Boolean).join(' · ') })), last.maxTrain, tag);
  if (size === undefined && !SIZE_CHOICES.includes(undefined)) return undefined;
  const { python, ...remembered } = compute.choice;
  const choices: CompareChoices = { dataset, model, augmentations, seeds, epochs, maxTrain: size, ...remembered };
  await context.workspaceState.update(CHOICES_KEY, choices);
  host.log.info(computeLog('evaluation', compute));
  return { ...choices, ...(python ? { python } : {}) };
}

/** The Python a run file or evolution config gets when it leaves it to the engine (LOSSMITH_PYTHON). */
async function configEnv(host: RunCommandsHost, folder: vscode.Uri | undefined): Promise<Record<string, string> | undefined> {
  const py: PythonChoice = await resolvePython(folder);
  host.log.info(`Python for the torch engine, unless the configuration names one: ${py.shown} (from ${py.from})`);
  return py.python ? { LOSSMITH_PYTHON: py.python } : undefined;
}

export function openRunPanel(host: RunPanelHost, id: string, kind: string, dir: string): void {
  if (kind === 'evolve') EvolutionPanel.createOrShow(host, id, dir);
  else EvaluationPanel.createOrShow(host, id, dir);
}

/** A run from a tree item, an id, or a pick among the runs. */
async function runArg(host: RunCommandsHost, arg: unknown, filter: (r: RunItem) => boolean, placeHolder: string): Promise<RunItem | undefined> {
  if (arg && typeof arg === 'object' && typeof (arg as RunItem).id === 'string') return arg as RunItem;
  const items = host.tree.items().filter(filter);
  if (typeof arg === 'string') return items.find((r) => r.id === arg);
  if (!items.length) {
    void vscode.window.showInformationMessage(`Lossmith: no run to choose from.`);
    return undefined;
  }
  if (items.length === 1 && placeHolder.startsWith('Stop')) return items[0];
  const pick = await vscode.window.showQuickPick(
    items.map((r) => ({ label: r.label, description: `${r.status} · ${r.id}`, r })),
    { placeHolder, title: 'Lossmith' },
  );
  return pick?.r;
}

export function runCommandHandlers(host: RunCommandsHost): Record<string, (...args: unknown[]) => unknown> {
  const m: RunManager = host.manager;
  const probe = new ComputeProbe(m, host.log);

  /**
   * The engine and the Node that runs it, found before any question is asked (when none can
   * run, the manager says so with the fix): the folder of `uri`, else of the active editor.
   */
  const enginesFirst = async (uri?: vscode.Uri): Promise<boolean> => {
    const at = uri ?? vscode.window.activeTextEditor?.document.uri;
    return !!(await m.ensurePrograms(at?.scheme === 'file' ? folderOf(at) : folders()[0]));
  };

  const evaluateLoss = async (uriArg?: unknown, lossArg?: unknown): Promise<ActiveRun | undefined> => {
    if (!(await enginesFirst(uriArg instanceof vscode.Uri ? uriArg : undefined))) return undefined;
    const found = await resolveLossDocument(uriArg);
    if (!found) return undefined;
    const { doc, position } = found;
    if (doc.uri.scheme !== 'file') {
      void vscode.window.showErrorMessage('Lossmith: save the .loss file first: the engine trains from a file on disk.');
      return undefined;
    }
    const loss = await pickLoss(doc, typeof lossArg === 'string' ? lossArg : undefined, position, 'Which loss to evaluate against cross-entropy?');
    if (!loss) return undefined;
    if (doc.isDirty) await doc.save();
    const cwd = folderOf(doc.uri);
    const choices = await askChoices(host, probe, cwd, vscode.workspace.getWorkspaceFolder(doc.uri)?.uri, loss);
    if (!choices) return undefined;
    return m.launch({ kind: 'compare', label: compareLabel([loss]), args: compareArgs([lossRef(doc.uri.fsPath, loss)], choices), cwd });
  };

  const startEvolution = async (): Promise<ActiveRun | undefined> => {
    const cwd = folders()[0];
    if (!cwd) {
      void vscode.window.showErrorMessage('Lossmith: open a folder first: runs are stored in its .lossmith/runs.');
      return undefined;
    }
    if (!(await m.ensurePrograms(cwd))) return undefined;
    const configs = await vscode.workspace.findFiles('**/*.evolve.json', '**/node_modules/**', 50);
    type Item = vscode.QuickPickItem & { file?: vscode.Uri };
    const items: Item[] = [
      ...configs.map((f) => ({ label: `$(json) ${vscode.workspace.asRelativePath(f)}`, description: 'configuration file', file: f })),
      { label: '$(settings) Quick settings…', description: 'model, augmentations and number of children' },
    ];
    const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: 'Lossmith: Start Evolution', placeHolder: 'Run a configuration, or choose quick settings', ignoreFocusOut: true });
    if (!pick) return undefined;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (pick.file) return m.launch({ kind: 'evolve', label: `evolution (${path.basename(pick.file.fsPath)})`, args: evolveArgs({ config: pick.file.fsPath }), cwd: folderOf(pick.file), env: await configEnv(host, vscode.workspace.getWorkspaceFolder(pick.file)?.uri) });
    const total = 5;
    const start = (): ReturnType<ComputeProbe['start']> => probe.start(cwd, folder);
    const compute = await pickCompute(probe, start, start(), `Start Evolution (1/${total}): engine and device`, computeSettings(folder), parseChoices(host.context.workspaceState.get(CHOICES_KEY)));
    if (!compute) return undefined;
    // The engine's default surrogate (mlp) first, marked.
    const models = modelItems(compute.choice.engine).map((i) => (i.value === EVOLVE_DEFAULT_MODEL ? { ...i, description: [i.description, 'default'].filter(Boolean).join(' · ') } : i));
    models.sort((a, b) => Number(b.value === EVOLVE_DEFAULT_MODEL) - Number(a.value === EVOLVE_DEFAULT_MODEL));
    const model = await vscode.window.showQuickPick(models, { title: `Start Evolution (2/${total}): surrogate model`, placeHolder: 'Model of the surrogate task' });
    if (!model) return undefined;
    const augs = await vscode.window.showQuickPick(AUGMENTATIONS.map((a) => ({ label: a, picked: a === 'none', description: a === 'none' ? 'default' : undefined })), { title: `Start Evolution (3/${total}): augmentations (one search each)`, canPickMany: true });
    if (!augs) return undefined;
    const records = recordedRuns(folders());
    const searchTakes = (steps: number, maxTrain: number): string => `the search takes ${estimateText(estimateEvolve({ model: model.value, steps, maxTrain, augmentations: augs.length }, records), model.value)}`;
    const steps = await vscode.window.showQuickPick(['20', '100', '500', '2000'].map((s) => ({ label: s, description: `children per search · ${searchTakes(Number(s), EVOLVE_SIZE_CHOICES[0])}` })), { title: `Start Evolution (4/${total}): children to evaluate per search` });
    if (!steps) return undefined;
    // The surrogate's training set: the default is the seed system's size; fewer examples make
    // a quick trial search (noisier fitness).
    const size = await vscode.window.showQuickPick(
      EVOLVE_SIZE_CHOICES.map((n) => ({ label: `${n.toLocaleString('en-US')} examples`, description: `${n === EVOLVE_SIZE_CHOICES[0] ? 'default' : 'a quicker, noisier search'} · ${searchTakes(Number(steps.label), n)}`, n })),
      { title: `Start Evolution (5/${total}): training examples per candidate` },
    );
    if (!size) return undefined;
    const a = augs.length ? augs.map((x) => x.label) : ['none'];
    host.log.info(computeLog('evolution', compute));
    return m.launch({ kind: 'evolve', label: `evolution (${a.join(', ')})`, args: evolveArgs({ model: model.value, augmentations: a, steps: Number(steps.label), ...(size.n !== EVOLVE_SIZE_CHOICES[0] ? { maxTrain: size.n } : {}), ...compute.choice }), cwd });
  };

  const evaluateRunConfig = async (uriArg?: unknown): Promise<ActiveRun | undefined> => {
    let uri = uriArg instanceof vscode.Uri ? uriArg : undefined;
    if (!(await enginesFirst(uri))) return undefined;
    const active = vscode.window.activeTextEditor?.document.uri;
    if (!uri && active && configArgs(active.fsPath)) uri = active;
    if (!uri) {
      const files = await vscode.workspace.findFiles('**/*.{lossrun,evolve}.json', '**/node_modules/**', 100);
      if (!files.length) {
        void vscode.window.showInformationMessage('Lossmith: no *.lossrun.json or *.evolve.json file in the workspace.');
        return undefined;
      }
      const pick = await vscode.window.showQuickPick(files.map((f) => ({ label: vscode.workspace.asRelativePath(f), f })), { title: 'Lossmith: Evaluate Run Config' });
      uri = pick?.f;
    }
    if (!uri) return undefined;
    const spec = configArgs(uri.fsPath);
    if (!spec) {
      void vscode.window.showErrorMessage('Lossmith: a run config is a *.lossrun.json or *.evolve.json file.');
      return undefined;
    }
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri!.toString());
    if (doc?.isDirty) await doc.save();
    const errors = vscode.languages.getDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
    if (errors.length) {
      const go = await vscode.window.showWarningMessage(`${path.basename(uri.fsPath)} has ${errors.length} schema error(s): ${errors[0].message}`, 'Run Anyway', 'Cancel');
      if (go !== 'Run Anyway') return undefined;
    }
    return m.launch({ kind: spec.kind, label: `${spec.kind === 'evolve' ? 'evolution' : 'evaluation'} (${path.basename(uri.fsPath)})`, args: spec.args, cwd: folderOf(uri), env: await configEnv(host, vscode.workspace.getWorkspaceFolder(uri)?.uri) });
  };

  const withDir = (r: RunItem | undefined): (RunItem & { dir: string }) | undefined => {
    if (!r) return undefined;
    const dir = r.dir ?? findRunDir(folders(), r.id);
    return dir ? { ...r, dir } : undefined;
  };

  return {
    'lossmith.evaluateLoss': evaluateLoss,
    'lossmith.startEvolution': startEvolution,
    'lossmith.evaluateRunConfig': evaluateRunConfig,
    'lossmith.stopRun': async (arg?: unknown) => {
      const r = await runArg(host, arg, (x) => isLive(x.status as ActiveRun['state']), 'Stop which run?');
      if (!r) return;
      if (!m.stop(r.id)) {
        // A run of another window (or not followed): stop its process by the pid it recorded.
        const info = folders().flatMap((f) => listRuns(f)).find((x) => x.id === r.id);
        if (info?.status === 'running') m.reattach(folders());
        m.stop(r.id);
      }
      host.tree.refresh();
    },
    'lossmith.showRuns': () => vscode.commands.executeCommand('lossmithRuns.focus'),
    'lossmith.refreshRuns': () => host.tree.refresh(),
    'lossmith.openRun': async (arg?: unknown) => {
      const r = withDir(await runArg(host, arg, (x) => !!x.dir, 'Open the results of which run?'));
      if (r) openRunPanel(host, r.id, r.kind, r.dir);
    },
    'lossmith.resumeRun': async (arg?: unknown) => {
      // An evolution can also be extended once done; a comparison resumes its unfinished trainings.
      const resumable = (x: RunItem): boolean => !isLive(x.status as ActiveRun['state']) && (x.kind === 'evolve' || (x.kind === 'compare' && x.status !== 'done'));
      if (!(await enginesFirst())) return;
      const r = withDir(await runArg(host, arg, resumable, 'Resume which run?'));
      if (!r) return;
      const cwd = path.dirname(path.dirname(path.dirname(r.dir)));
      if (m.get(r.id)) {
        void vscode.window.showInformationMessage('Lossmith: this run is already running.');
        return;
      }
      const kind = r.kind === 'compare' ? 'compare' : 'evolve';
      await m.launch({ kind, label: `${runLabel(r.dir, kind)} (resumed)`, args: resumeArgs(kind, r.dir), cwd, resumeDir: r.dir });
    },
    'lossmith.deleteRun': async (arg?: unknown) => {
      const r = withDir(await runArg(host, arg, (x) => !isLive(x.status as ActiveRun['state']), 'Delete which run?'));
      if (!r) return;
      if (isLive(r.status as ActiveRun['state'])) {
        void vscode.window.showWarningMessage('Lossmith: stop the run before deleting it.');
        return;
      }
      const ok = await vscode.window.showWarningMessage(`Delete run ${r.id} (${r.label}) and all its files?`, { modal: true }, 'Delete');
      if (ok !== 'Delete') return;
      fs.rmSync(r.dir, { recursive: true, force: true });
      host.tree.refresh();
    },
    'lossmith.revealRun': async (arg?: unknown) => {
      const r = withDir(await runArg(host, arg, (x) => !!x.dir, 'Reveal which run?'));
      if (r) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(r.dir));
    },
    'lossmith.compareRuns': async (arg?: unknown, selected?: unknown) => {
      // From the Runs view: the clicked row and the selection; else a pick of the compare runs.
      const isItem = (x: unknown): x is RunItem => !!x && typeof x === 'object' && typeof (x as RunItem).id === 'string';
      let chosen = (Array.isArray(selected) ? selected.filter(isItem) : isItem(arg) ? [arg] : []).filter((r) => r.kind === 'compare');
      if (chosen.length < 2) {
        const all = host.tree.items().filter((r) => r.kind === 'compare' && r.dir);
        if (all.length < 2) {
          void vscode.window.showInformationMessage('Lossmith: side by side needs two or more evaluations in this workspace.');
          return;
        }
        const picks = await vscode.window.showQuickPick(
          all.map((r) => ({ label: r.label, description: `${r.status} · ${r.created ? new Date(r.created).toLocaleString() : r.id}`, picked: chosen.some((c) => c.id === r.id), r })),
          { canPickMany: true, title: 'Lossmith: Compare Runs Side by Side', placeHolder: 'Choose two or more evaluations' },
        );
        if (!picks) return;
        chosen = picks.map((p) => p.r);
        if (chosen.length < 2) {
          void vscode.window.showInformationMessage('Lossmith: choose two or more evaluations to see side by side.');
          return;
        }
      }
      const runs = chosen.map(withDir).filter((r): r is RunItem & { dir: string } => !!r).slice(0, MAX_COMPARED_RUNS);
      ComparePanel.show(host, runs.map((r) => ({ id: r.id, dir: r.dir })));
    },
    'lossmith.openBestLoss': async (arg?: unknown) => {
      const r = withDir(await runArg(host, arg, (x) => x.kind === 'evolve', 'Open the best loss of which evolution?'));
      if (!r) return;
      const f = bestLossFile(r.dir);
      if (!f) {
        void vscode.window.showInformationMessage('Lossmith: this run has no best loss yet (it writes them when a search ends).');
        return;
      }
      await vscode.window.showTextDocument(vscode.Uri.file(f), { preview: false });
    },
    'lossmith.previewLoss': async (uriArg?: unknown, lossArg?: unknown) => {
      const found = await resolveLossDocument(uriArg);
      if (!found) return;
      const editor = await vscode.window.showTextDocument(found.doc, { viewColumn: vscode.ViewColumn.One });
      const line = lossLines(found.doc.getText()).find((l) => l.name === lossArg)?.line;
      if (line !== undefined) {
        const pos = new vscode.Position(line, 0);
        editor.selection = new vscode.Selection(pos, pos);
        editor.revealRange(new vscode.Range(pos, pos));
      }
      await vscode.commands.executeCommand('lossmith.showDerivativePreview');
    },
  };
}
