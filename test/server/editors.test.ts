/**
 * Real editors as LSP clients: Neovim 0.7 (`nvim --headless --clean`) and Emacs 28 with eglot
 * (`emacs --batch -l test.el`), each opening a `.loss` file with errors and getting the
 * diagnostics and a hover back from `node out/server/src/main.js --stdio`.
 *
 * Debian packages: neovim, emacs-nox, elpa-eglot. With CI=true a missing editor fails the test;
 * elsewhere it is skipped with a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveCall } from '../../grammar/src/index';

const SERVER = path.resolve(__dirname, '..', '..', 'server', 'src', 'main.js');
const BAD = 'loss focal = -(1 - pt)^2 * log(pt)\n';
const LOG_SUMMARY = resolveCall('log', 1)!.doc.summary;

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Undefined when the editor is there; else why not (and a failure when CI=true). */
function missing(cmd: string, pkg: string): string | undefined {
  if (has(cmd)) return undefined;
  const msg = `${cmd} is not installed (apt-get install -y ${pkg})`;
  if (process.env.CI === 'true') assert.fail(`${msg}: required when CI=true`);
  return msg;
}

/** Neovim 0.7: no vim.lsp.start; start_client + buf_attach_client, wait on vim.diagnostic.get. */
const LUA = "local server = os.getenv('LOSSMITH_SERVER')\nlocal file = os.getenv('LOSSMITH_FILE')\nlocal out = io.open(os.getenv('LOSSMITH_OUT'), 'w')\nvim.cmd('edit ' .. file)\nlocal bufnr = vim.api.nvim_get_current_buf()\nlocal id = vim.lsp.start_client({ name = 'lossmith', cmd = { 'node', server, '--stdio' }, root_dir = vim.fn.getcwd() })\nvim.lsp.buf_attach_client(bufnr, id)\nlocal ok = vim.wait(15000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50)\nfor _, d in ipairs(vim.diagnostic.get(bufnr)) do\n  out:write(string.format('diag %d:%d-%d:%d %d %s %s\\n', d.lnum, d.col, d.end_lnum, d.end_col, d.severity, tostring(d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)), d.message))\nend\nlocal res = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = 0, character = 28 } }, 10000)\nfor _, r in pairs(res or {}) do\n  if r.result then out:write('hover ' .. r.result.contents.value:gsub('\\n', '\\\\n') .. '\\n') end\nend\nout:write('done ' .. tostring(ok) .. '\\n')\nout:close()\nvim.lsp.stop_client(id)\nvim.cmd('qa!')\n";

/** Emacs 28 + eglot 1.9: start eglot on the buffer, wait for its diagnostics, ask for a hover. */
const ELISP = "(require 'eglot)\n(require 'flymake)\n(define-derived-mode lossmith-mode prog-mode \"Lossmith\")\n(add-to-list 'auto-mode-alist '(\"\\\\.loss\\\\'\" . lossmith-mode))\n(add-to-list 'eglot-server-programs `(lossmith-mode . (\"node\" ,(getenv \"LOSSMITH_SERVER\") \"--stdio\")))\n(setq eglot-sync-connect t)\n(let ((out (getenv \"LOSSMITH_OUT\")))\n  (find-file (getenv \"LOSSMITH_FILE\"))\n  (apply (function eglot) (eglot--guess-contact))\n  (let ((deadline (+ (float-time) 30)))\n    (while (and (not (eglot-current-server)) (< (float-time) deadline)) (accept-process-output nil 0.1)))\n  (flymake-mode 1)\n  (flymake-start)\n  (let ((deadline (+ (float-time) 30)))\n    (while (and (null eglot--diagnostics) (null (flymake-diagnostics)) (< (float-time) deadline))\n      (accept-process-output nil 0.2)))\n  (let ((diags (or (flymake-diagnostics) eglot--diagnostics)))\n   (with-temp-file out\n    (dolist (d diags)\n      (insert (format \"diag %d %s %s\\n\" (flymake-diagnostic-beg d) (flymake-diagnostic-type d) (flymake-diagnostic-text d))))))\n  (let* ((server (eglot-current-server))\n         (res (jsonrpc-request server :textDocument/hover\n                               (list :textDocument (list :uri (eglot--path-to-uri (buffer-file-name)))\n                                     :position (list :line 0 :character 28)))))\n    (with-temp-buffer\n      (insert (format \"hover %s\\n\" (plist-get (plist-get res :contents) :value)))\n      (append-to-file (point-min) (point-max) out)))\n  (eglot-shutdown (eglot-current-server))\n  (kill-emacs 0))\n";

function workdir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-editor-'));
  fs.writeFileSync(path.join(dir, 'bad.loss'), BAD);
  for (const d of ['config', 'data', 'state', 'cache', 'home']) fs.mkdirSync(path.join(dir, d));
  return dir;
}

test('Neovim 0.7 as the client: diagnostics and hover', (t) => {
  const why = missing('nvim', 'neovim');
  if (why) return t.skip(why);
  const dir = workdir();
  try {
    fs.writeFileSync(path.join(dir, 'test.lua'), LUA);
    const out = path.join(dir, 'out.txt');
    const r = spawnSync('nvim', ['--headless', '--clean', '-c', 'luafile test.lua'], {
      cwd: dir,
      timeout: 60000,
      env: {
        ...process.env,
        XDG_CONFIG_HOME: path.join(dir, 'config'),
        XDG_DATA_HOME: path.join(dir, 'data'),
        XDG_STATE_HOME: path.join(dir, 'state'),
        XDG_CACHE_HOME: path.join(dir, 'cache'),
        LOSSMITH_SERVER: SERVER,
        LOSSMITH_FILE: path.join(dir, 'bad.loss'),
        LOSSMITH_OUT: out,
      },
    });
    assert.ok(fs.existsSync(out), `nvim wrote nothing: ${r.stderr?.toString()} ${r.stdout?.toString()}`);
    const lines = fs.readFileSync(out, 'utf8').split('\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('diag ')),
      [
        "diag 0:5-0:10 2 no-target-dependence loss 'focal' does not depend on the target y",
        "diag 0:5-0:10 2 no-prediction-dependence loss 'focal' does not depend on the prediction (p or logits)",
        "diag 0:19-0:21 1 unknown-name unknown name 'pt'; did you mean 'p'?",
        'diag 0:27-0:34 2 domain-log log of an argument that can be negative (NaN)',
        "diag 0:31-0:33 1 unknown-name unknown name 'pt'; did you mean 'p'?",
      ],
    );
    const hover = lines.find((l) => l.startsWith('hover '));
    assert.ok(hover && hover.startsWith('hover ```lossmith\\nlog(x) -> same as x\\n```') && hover.includes(LOG_SUMMARY), hover);
    assert.ok(lines.includes('done true'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Emacs 28 with eglot as the client: diagnostics and hover', (t) => {
  const why = missing('emacs', 'emacs-nox elpa-eglot');
  if (why) return t.skip(why);
  const dir = workdir();
  try {
    fs.writeFileSync(path.join(dir, 'test.el'), ELISP);
    const out = path.join(dir, 'out.txt');
    const r = spawnSync('emacs', ['--batch', '-l', 'test.el'], {
      cwd: dir,
      timeout: 90000,
      env: { ...process.env, HOME: path.join(dir, 'home'), LOSSMITH_SERVER: SERVER, LOSSMITH_FILE: path.join(dir, 'bad.loss'), LOSSMITH_OUT: out },
    });
    assert.ok(fs.existsSync(out), `emacs wrote nothing: ${r.stderr?.toString().slice(0, 3000)}`);
    const text = fs.readFileSync(out, 'utf8');
    assert.deepEqual(
      text.split('\n').filter((l) => l.startsWith('diag ')).sort(),
      [
        "diag 20 eglot-error lossmith [unknown-name]: unknown name 'pt'; did you mean 'p'?",
        'diag 28 eglot-warning lossmith [domain-log]: log of an argument that can be negative (NaN)',
        "diag 32 eglot-error lossmith [unknown-name]: unknown name 'pt'; did you mean 'p'?",
        "diag 6 eglot-warning lossmith [no-prediction-dependence]: loss 'focal' does not depend on the prediction (p or logits)",
        "diag 6 eglot-warning lossmith [no-target-dependence]: loss 'focal' does not depend on the target y",
      ],
    );
    // eglot 1.9 asks for plain text: the server strips the markdown.
    assert.ok(text.includes('hover log(x) -> same as x\n') && text.includes(LOG_SUMMARY), text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
