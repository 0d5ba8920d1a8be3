/**
 * The run manager: starts engine CLI processes (locate.ts: which engine, run by which Node), follows their events, caps
 * how many run at once, shows progress (a cancellable notification per run and one status bar
 * item), stops runs (process tree), and re-attaches to runs still running after a window reload.
 *
 * A run's live events always come from its events.jsonl (EventTail), whether this window started
 * it or re-attached to it: one code path, and what the panels show is what is on disk.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { WireEvent } from '../../../media/src/shared/validate';
import { EventTail } from './event-tail';
import { HOST_RUNTIME, locateEngine, locateNode, nodeVersion, nodeVersionOk, type NotFound } from './locate';
import { listRuns, ProgressTracker, runEvents, runLabel, runsDir } from './run-files';
import type { VerdictSummary } from '../../../media/src/shared/verdict';
import { toStart, type QueueState } from './queue';
import { alive, killTree, RunProcess } from './run-process';

export type RunState = QueueState;

/** The engine CLI and the Node that runs it (with the variables that Node needs). */
export interface Programs {
  node: string;
  cli: string;
  env?: Record<string, string>;
}

export interface LaunchSpec {
  kind: 'compare' | 'evolve';
  label: string;
  args: string[];
  /** Workspace folder: the CLI's working directory (runs go to its .lossmith/runs). */
  cwd: string;
  /** The folder of the run it continues (resume), if any. */
  resumeDir?: string;
  /** Environment variables added to the extension host's for the CLI (LOSSMITH_PYTHON). */
  env?: Record<string, string>;
}

export interface ActiveRun {
  key: string;
  id?: string;
  dir?: string;
  kind: 'compare' | 'evolve';
  label: string;
  state: RunState;
  progress: number;
  detail: string;
  /** The engine and device in a few words, in full, and whether on a GPU (see RunProgress). */
  backend: string | null;
  compute?: string | null;
  gpu?: boolean | null;
  /** A finished run's verdicts (see RunProgress). */
  verdicts?: VerdictSummary | null;
  /** Started by this window (vs re-attached after a reload). */
  launched: boolean;
  pid?: number;
  error?: string;
  spec?: LaunchSpec;
  proc?: RunProcess;
  tail?: EventTail;
  watchdog?: NodeJS.Timeout;
  finished?: Promise<void>;
  resolveFinished?: () => void;
}

export interface RunEventsChange {
  run: ActiveRun;
  from: number;
  events: WireEvent[];
}

const END_STATES: Partial<Record<string, RunState>> = { 'run-end': 'done', 'run-cancelled': 'cancelled', 'run-failed': 'failed' };
export const isLive = (s: RunState): boolean => s === 'queued' || s === 'starting' || s === 'running' || s === 'stopping';

export class RunManager implements vscode.Disposable {
  private readonly active = new Map<string, ActiveRun>();
  private readonly changed = new vscode.EventEmitter<ActiveRun | undefined>();
  private readonly eventsEmitter = new vscode.EventEmitter<RunEventsChange>();
  private readonly startedEmitter = new vscode.EventEmitter<ActiveRun>();
  readonly onDidChange = this.changed.event;
  readonly onEvents = this.eventsEmitter.event;
  /** A run announced its id (its panel can open). */
  readonly onDidStart = this.startedEmitter.event;
  private readonly status: vscode.StatusBarItem;
  private seq = 0;
  /**
   * The job queue, when one is set (`lossmith.queue`): flags for new runs and the environment
   * (the password from the secret storage) for every run; a problem stops the launch.
   */
  queue?: () => Promise<{ args: string[]; env: Record<string, string> } | { problem: string } | undefined>;
  private nodeChecked: string | undefined;
  private lastFound: string | undefined;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** Where the runs' stderr logs go (the extension's storage). */
    private readonly logDir: string,
    /** The engine bundled in the extension (dist/engine/lossmith.js), used when nothing else is set or found. */
    private readonly bundledEngine?: string,
  ) {
    this.status = vscode.window.createStatusBarItem('lossmith.runs', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'Lossmith Runs';
    this.status.command = 'lossmith.showRuns';
  }

  runs(): ActiveRun[] {
    return [...this.active.values()];
  }

  get(idOrKey: string): ActiveRun | undefined {
    return this.active.get(idOrKey) ?? [...this.active.values()].find((r) => r.id === idOrKey);
  }

  private maxConcurrent(): number {
    const n = vscode.workspace.getConfiguration('lossmith').get<number>('runs.maxConcurrent', 1);
    return Math.max(1, Math.min(16, Math.round(Number.isFinite(n) ? n : 1)));
  }

  /** The engine CLI and the Node that runs it, or what is wrong and which setting fixes it. */
  async programs(cwd?: string): Promise<Programs | NotFound> {
    let r = await this.locate(cwd);
    // Right after a window reload the extension host may not have the user's settings yet
    // (seen in code-server): when nothing is set and nothing is found, look again shortly.
    for (let i = 0; i < 6 && 'error' in r && !this.configured(); i++) {
      await new Promise((res) => setTimeout(res, 500));
      r = await this.locate(cwd);
    }
    return r;
  }

  private configured(): boolean {
    const conf = vscode.workspace.getConfiguration('lossmith');
    return !!(conf.get<string>('nodePath') || conf.get<string>('enginePath'));
  }

  private async locate(cwd?: string): Promise<Programs | NotFound> {
    const conf = vscode.workspace.getConfiguration('lossmith');
    const node = locateNode(conf.get<string>('nodePath'), { execPath: process.execPath, version: process.versions.node });
    if ('error' in node) return node;
    if (this.nodeChecked !== node.path) {
      let v = node.version;
      try {
        v ??= await nodeVersion(node.path);
      } catch (e) {
        return { error: `${(e as Error).message} (from lossmith.nodePath): set it to a Node.js 20+ executable, or clear it to run the engine with ${HOST_RUNTIME}.`, setting: 'lossmith.nodePath' };
      }
      if (!nodeVersionOk(v)) {
        const fix = node.env ? 'set lossmith.nodePath to a Node.js 20+ executable' : `set lossmith.nodePath to a newer Node, or clear it to run the engine with ${HOST_RUNTIME}`;
        return { error: `${node.path} is Node ${v}; the engine needs Node 20 or later: ${fix}.`, setting: 'lossmith.nodePath' };
      }
      this.log.info(`runs use Node ${v} at ${node.path} (${node.from === 'lossmith.nodePath' ? 'from lossmith.nodePath' : HOST_RUNTIME})`);
      this.nodeChecked = node.path;
    }
    const folders = [...(cwd ? [cwd] : []), ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)];
    const cli = locateEngine({ setting: conf.get<string>('enginePath'), workspaceFolders: folders, bundled: this.bundledEngine, envPath: process.env.PATH, platform: process.platform });
    if ('error' in cli) return cli;
    if (this.lastFound !== cli.path) {
      this.log.info(`runs use the engine at ${cli.path} (${cli.from})`);
      this.lastFound = cli.path;
    }
    return { node: node.path, cli: cli.path, ...(node.env ? { env: node.env } : {}) };
  }

  /**
   * The programs, found before a run command asks anything: when none can run, says so (one line
   * with the fix, and a button to the setting that fixes it) and returns undefined.
   */
  async ensurePrograms(cwd?: string): Promise<Programs | undefined> {
    const programs = await this.programs(cwd);
    if (!('error' in programs)) return programs;
    this.log.error(programs.error);
    const setting = programs.setting ?? 'lossmith';
    void vscode.window.showErrorMessage(`Lossmith: ${programs.error}`, 'Open Settings', 'Show Output').then((c) => {
      if (c === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', setting);
      else if (c === 'Show Output') this.log.show();
    });
    return undefined;
  }

  /** Queue a run; it starts when fewer than lossmith.runs.maxConcurrent runs are running. */
  async launch(spec: LaunchSpec): Promise<ActiveRun | undefined> {
    const q = await this.queue?.();
    if (q && 'problem' in q) {
      void vscode.window.showErrorMessage(`Lossmith: ${q.problem}`);
      return undefined;
    }
    if (q) {
      // New runs go to the queue; a resumed one keeps its own (its URL is in its folder).
      const fresh = !spec.resumeDir && !spec.args.includes('--resume') && !spec.args.includes('--queue');
      spec = { ...spec, args: fresh ? [...spec.args, ...q.args] : spec.args, env: { ...spec.env, ...q.env } };
    }
    const programs = await this.ensurePrograms(spec.cwd);
    if (!programs) return undefined;
    const run: ActiveRun = { key: `pending-${++this.seq}`, kind: spec.kind, label: spec.label, state: 'queued', progress: 0, detail: 'queued', backend: null, launched: true, spec };
    run.finished = new Promise<void>((r) => (run.resolveFinished = r));
    this.active.set(run.key, run);
    this.showProgress(run);
    this.pump(programs);
    this.update(run);
    return run;
  }

  private pump(programs: Programs): void {
    const runs = this.runs();
    for (const i of toStart(runs.map((r) => r.state), this.maxConcurrent())) if (runs[i].spec) this.start(runs[i], programs);
  }

  private start(run: ActiveRun, programs: Programs): void {
    const spec = run.spec!;
    run.state = 'starting';
    run.detail = 'starting';
    const added = { ...programs.env, ...spec.env };
    // Secrets never reach the log.
    const env = Object.entries(added).map(([k, v]) => `${k}=${/PASSWORD/.test(k) ? '***' : v} `).join('');
    this.log.info(`starting ${spec.kind} run: ${env}${programs.node} ${programs.cli} ${spec.args.join(' ')} (in ${spec.cwd})`);
    run.proc = new RunProcess({
      node: programs.node,
      cli: programs.cli,
      args: spec.args,
      cwd: spec.cwd,
      runsDir: runsDir(spec.cwd),
      resumeDir: spec.resumeDir,
      ...(Object.keys(added).length ? { env: { ...process.env, ...added } } : {}),
      logFile: path.join(this.logDir, `run-${Date.now()}-${this.seq}.log`),
      onStart: (e) => {
        const id = typeof e.id === 'string' ? e.id : undefined;
        if (!id) return;
        run.id = id;
        run.dir = spec.resumeDir ?? path.join(runsDir(spec.cwd), id);
        this.active.delete(run.key);
        run.key = id;
        this.active.set(id, run);
        if (run.state === 'starting') run.state = 'running';
        this.follow(run);
        this.startedEmitter.fire(run);
        this.update(run);
      },
      onExit: (code, signal, stderr) => {
        run.tail?.poll();
        const last = [...(run.tail?.events ?? [])].reverse().find((e) => e.type in END_STATES);
        const end = last ? END_STATES[last.type] : undefined;
        if (end) run.state = end;
        else if (run.state === 'stopping') run.state = 'cancelled';
        else {
          run.state = 'failed';
          run.error = stderr.trim().split('\n').slice(-6).join('\n') || `the engine exited with ${signal ?? `code ${code}`}`;
          this.log.error(`run ${run.id ?? run.key} failed: ${run.error}`);
          void vscode.window.showErrorMessage(`Lossmith: ${run.label} failed: ${run.error.split('\n').slice(-1)[0]}`, 'Show Output').then((c) => {
            if (c) this.log.show();
          });
        }
        if (stderr.trim()) this.log.info(`run ${run.id ?? run.key} stderr (last lines):\n${stderr.trim().split('\n').slice(-20).join('\n')}`);
        this.finish(run);
        const p = run.spec?.cwd ? this.programsCache : undefined;
        if (p) this.pump(p);
      },
    });
    this.programsCache = programs;
    run.pid = run.proc.pid;
  }
  private programsCache: Programs | undefined;

  /** Tail events.jsonl of a run that has a folder. */
  private follow(run: ActiveRun): void {
    if (!run.dir || run.tail) return;
    const tracker = new ProgressTracker(run.kind);
    run.tail = new EventTail(path.join(run.dir, 'events.jsonl'), (events, from) => {
      tracker.push(events);
      const p = tracker.get();
      run.progress = p.progress;
      run.detail = p.detail;
      run.backend = p.backend ?? run.backend;
      run.compute = p.compute ?? run.compute;
      run.gpu = p.gpu ?? run.gpu;
      run.verdicts = p.verdicts;
      for (const e of events) {
        if ((e.type === 'run-start' || e.type === 'run-resume') && typeof e.pid === 'number') run.pid = e.pid;
        const end = END_STATES[e.type];
        if (end && !run.proc) run.state = end;
      }
      this.eventsEmitter.fire({ run, from, events });
      this.update(run);
      if (!run.proc && !isLive(run.state)) this.finish(run);
    });
    run.tail.start();
  }

  private finish(run: ActiveRun): void {
    run.tail?.poll();
    run.tail?.stop();
    if (run.watchdog) clearInterval(run.watchdog);
    run.watchdog = undefined;
    if (run.state === 'done') run.progress = 1;
    run.resolveFinished?.();
    this.update(run);
    // Finished runs are read from disk from now on (the tree lists them).
    setTimeout(() => {
      if (!isLive(run.state)) {
        this.active.delete(run.key);
        this.changed.fire(undefined);
      }
    }, 1500);
  }

  /** Stop a run: a queued one is dropped; a running one gets SIGTERM, then SIGKILL to its tree. */
  stop(idOrKey: string): boolean {
    const run = this.get(idOrKey);
    if (!run || !isLive(run.state)) return false;
    if (run.state === 'queued') {
      run.state = 'cancelled';
      run.detail = 'cancelled before it started';
      this.finish(run);
      return true;
    }
    run.state = 'stopping';
    this.update(run);
    if (run.proc) run.proc.stop();
    else if (run.pid) killTree(run.pid, 10_000);
    return true;
  }

  /** Stop a run that only exists on disk (another window's, or one found running at start-up). */
  stopByPid(pid: number): void {
    killTree(pid, 10_000);
  }

  /** Follow runs that are still running (after a window reload); called at activation. */
  reattach(folders: readonly string[]): void {
    for (const ws of folders) {
      for (const info of listRuns(ws)) {
        if (info.status !== 'running' || this.get(info.id)) continue;
        const kind = info.kind === 'evolve' ? 'evolve' : 'compare';
        const run: ActiveRun = { key: info.id, id: info.id, dir: info.dir, kind, label: runLabel(info.dir, kind), state: 'running', progress: 0, detail: 'running', backend: null, launched: false };
        run.finished = new Promise<void>((r) => (run.resolveFinished = r));
        const events = runEvents(info.dir);
        const start = [...events].reverse().find((e) => e.type === 'run-start' || e.type === 'run-resume');
        if (start && typeof start.pid === 'number') run.pid = start.pid;
        this.active.set(info.id, run);
        this.log.info(`re-attached to running ${kind} run ${info.id} (pid ${run.pid})`);
        this.follow(run);
        // Its process may end without an end event (killed): watch it.
        run.watchdog = setInterval(() => {
          if (run.pid && !alive(run.pid)) {
            run.tail?.poll();
            if (isLive(run.state)) run.state = run.state === 'stopping' ? 'cancelled' : 'interrupted';
            this.finish(run);
          }
        }, 2000);
        this.showProgress(run);
        this.update(run);
      }
    }
  }

  private showProgress(run: ActiveRun): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Lossmith: ${run.label}`, cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          let reported = 0;
          const sub = this.onDidChange((r) => {
            if (r !== run) return;
            const inc = Math.max(0, Math.round(run.progress * 100) - reported);
            reported += inc;
            progress.report({ increment: inc, message: this.describe(run) });
          });
          progress.report({ message: this.describe(run) });
          token.onCancellationRequested(() => this.stop(run.key));
          void run.finished!.then(() => {
            sub.dispose();
            resolve();
          });
        }),
    );
  }

  describe(run: ActiveRun): string {
    const parts = [run.state === 'running' ? `${Math.round(run.progress * 100)}%` : run.state, run.detail !== run.state ? run.detail : ''];
    if (run.backend) parts.push(run.backend);
    return parts.filter(Boolean).join(' · ');
  }

  private update(run: ActiveRun): void {
    this.changed.fire(run);
    this.renderStatus();
  }

  private renderStatus(): void {
    const live = this.runs().filter((r) => isLive(r.state));
    void vscode.commands.executeCommand('setContext', 'lossmith.runsActive', live.length > 0);
    if (!live.length) {
      this.status.hide();
      return;
    }
    const running = live.filter((r) => r.state !== 'queued');
    const first = running[0] ?? live[0];
    const text = live.length === 1 ? `${first.label} ${Math.round(first.progress * 100)}%` : `${running.length} running${live.length > running.length ? `, ${live.length - running.length} queued` : ''}`;
    const backend = typeof first.gpu === 'boolean' ? ` (${first.gpu ? 'GPU' : 'CPU'})` : '';
    this.status.text = `$(sync~spin) Lossmith: ${text}${backend}`;
    this.status.tooltip = live.map((r) => `${r.label}: ${this.describe(r)}`).join('\n');
    this.status.accessibilityInformation = { label: `Lossmith runs: ${this.status.tooltip}` };
    this.status.show();
  }

  dispose(): void {
    // Runs keep going when the window closes or reloads (they are re-attached); only stop following.
    for (const r of this.active.values()) {
      r.tail?.stop();
      if (r.watchdog) clearInterval(r.watchdog);
    }
    this.status.dispose();
    this.changed.dispose();
    this.eventsEmitter.dispose();
    this.startedEmitter.dispose();
  }
}
