/** The preview's message validation and view model, without a DOM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDerivativeResult, parseFromWebview, parseState, parseToWebview } from '../../media/src/preview/messages';
import { chartModel, formatNumber, niceStep, previewModel, robustRange, roundToStep, sliderFor } from '../../media/src/preview/view-model';
import type { DerivativeResult, ParamInfo } from '../../protocol/lsp';

const R = { start: { line: 0, character: 0 }, end: { line: 0, character: 5 } };
const pt = [0.1, 0.5, 0.9];
export const sample = (): DerivativeResult => ({
  uri: 'file:///w/focal.loss',
  version: 3,
  loss: 'focal',
  losses: ['focal'],
  lossInfos: [{ name: 'focal', range: R, nameRange: R }],
  params: [{ name: 'gamma', value: 2, lo: 0, hi: 5, range: R, nameRange: R }],
  text: '-(1 - pt)^gamma * log(pt)',
  latex: '-\\left(1 - p_t\\right)^{\\gamma} \\log p_t',
  derivatives: [
    { wrt: 'logits', text: 'd', latex: 'd' },
    { wrt: 'p', text: 'e', latex: 'e' },
  ],
  curve: { classes: 10, pt, loss: [1.8, 0.17, 0.001], gradTrue: [-0.8, -0.3, null], gradOther: [0.09, 0.03, 0.001] },
});

test('a well-formed result passes; wrong shapes are rejected', () => {
  assert.ok(parseDerivativeResult(sample()));
  assert.ok(parseDerivativeResult(JSON.parse(JSON.stringify({ ...sample(), curve: null, error: 'x' }))));
  const bad: unknown[] = [
    null,
    42,
    { ...sample(), uri: 3 },
    { ...sample(), loss: 'not a name' },
    { ...sample(), losses: ['a b'] },
    { ...sample(), params: [{ name: 'g', value: 'x', range: R, nameRange: R }] },
    { ...sample(), derivatives: [{ wrt: 'q', text: '', latex: '' }] },
    { ...sample(), curve: { ...sample().curve, loss: [1, 2] } },
    { ...sample(), curve: { ...sample().curve, pt: [0.1, null, 0.9] } },
    { ...sample(), curve: { ...sample().curve, gradTrue: ['1', 2, 3] } },
    { ...sample(), lossInfos: [{ name: 'focal', range: { start: { line: -1, character: 0 }, end: R.end }, nameRange: R }] },
  ];
  for (const b of bad) assert.equal(parseDerivativeResult(b), undefined, JSON.stringify(b)?.slice(0, 80));
});

test('messages to the webview are validated', () => {
  const ok = { type: 'derivative', result: sample(), fileName: 'focal.loss', classes: 10, overrides: { gamma: 1 } };
  assert.deepEqual(parseToWebview(ok), ok);
  assert.ok(parseToWebview({ type: 'status', state: 'noEditor', message: 'x' }));
  assert.equal(parseToWebview({ ...ok, classes: 1 }), undefined);
  assert.equal(parseToWebview({ ...ok, overrides: { gamma: 'x' } }), undefined);
  assert.equal(parseToWebview({ ...ok, overrides: { 'a-b': 1 } }), undefined);
  assert.equal(parseToWebview({ type: 'status', state: 'eval', message: 'x' }), undefined);
  assert.equal(parseToWebview({ type: 'script', code: 'alert(1)' }), undefined);
});

test('messages from the webview are validated and stripped to their fields', () => {
  assert.deepEqual(parseFromWebview({ type: 'ready', extra: 1 }), { type: 'ready' });
  assert.deepEqual(parseFromWebview({ type: 'setParam', name: 'gamma', value: 1.5 }), { type: 'setParam', name: 'gamma', value: 1.5 });
  assert.deepEqual(parseFromWebview({ type: 'setClasses', classes: 100 }), { type: 'setClasses', classes: 100 });
  assert.deepEqual(parseFromWebview({ type: 'selectLoss', loss: 'focal' }), { type: 'selectLoss', loss: 'focal' });
  for (const bad of [
    { type: 'setParam', name: 'gamma', value: Infinity },
    { type: 'setParam', name: '__proto__ x', value: 1 },
    { type: 'setClasses', classes: 1 },
    { type: 'setClasses', classes: 2.5 },
    { type: 'setClasses', classes: 5000 },
    { type: 'selectLoss', loss: '../x' },
    { type: 'runCommand', command: 'workbench.action.quit' },
    'ready',
  ])
    assert.equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
});

test('persisted state: known fields kept, the rest dropped', () => {
  assert.deepEqual(parseState({ v: 1, uri: 'file:///a.loss', loss: 'x', classes: 20, overrides: { g: 1 }, junk: 2 }), {
    v: 1,
    uri: 'file:///a.loss',
    loss: 'x',
    classes: 20,
    overrides: { g: 1 },
  });
  assert.deepEqual(parseState({ v: 1, classes: 'x', loss: 3 }), { v: 1 });
  assert.equal(parseState({ v: 2 }), undefined);
  assert.equal(parseState(undefined), undefined);
});

const param = (p: Partial<ParamInfo>): ParamInfo => ({ name: 'g', value: 2, range: R, nameRange: R, ...p });

test('sliders use the declared range, or a range around the value; overrides are clamped', () => {
  const s = sliderFor(param({ lo: 0, hi: 5 }), undefined);
  assert.deepEqual([s.min, s.max, s.value, s.bounded, s.overridden], [0, 5, 2, true, false]);
  assert.ok(s.step > 0 && s.step <= 0.05);
  assert.equal(sliderFor(param({ lo: 0, hi: 5 }), 9).value, 5);
  assert.equal(sliderFor(param({ lo: 0, hi: 5 }), 1.25).overridden, true);
  const u = sliderFor(param({ value: 0.5 }), undefined);
  assert.ok(u.min < 0.5 && u.max > 0.5 && !u.bounded);
  const half = sliderFor(param({ value: 1, lo: 0 }), undefined);
  assert.ok(half.min === 0 && half.max > 1);
});

test('number helpers', () => {
  assert.equal(niceStep(5), 0.05);
  assert.equal(niceStep(1), 0.005);
  assert.equal(roundToStep(0.30000000000000004, 0.01), 0.3);
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(null), '–');
  assert.equal(formatNumber(1e-7), '1e-7');
  assert.equal(formatNumber(-Infinity), '−∞');
});

test('y ranges clip spikes near pt -> 0 but keep the shape', () => {
  const xs = Array.from({ length: 199 }, (_, i) => (i + 1) / 200);
  const ce = xs.map((x) => -Math.log(x));
  const [lo, hi] = robustRange([ce]);
  assert.ok(lo <= 0 && hi >= 4 && hi < 8, `${lo} ${hi}`);
  const spiky = xs.map((x) => 1 / x ** 3);
  const [, hi2] = robustRange([spiky]);
  assert.ok(hi2 < 1e6);
  assert.deepEqual(robustRange([[null, null]]), [0, 1]);
  const [a, b] = robustRange([[2, 2, 2]]);
  assert.ok(a < 2 && b > 2);
});

test('the view model of a result', () => {
  const m = previewModel(sample(), 'focal.loss', 10, { gamma: 1 });
  assert.equal(m.loss, 'focal');
  assert.deepEqual(m.math.map((x) => x.label), ['L', '∂L/∂z', '∂L/∂p']);
  assert.equal(m.sliders[0].value, 1);
  assert.ok(m.chart && m.chart.hasGradTrue && m.chart.hasGradOther);
  assert.equal(m.chart?.data.length, 4);
  assert.match(m.summary, /focal.*10 classes/);
  assert.equal(chartModel(null), null);
  const noGrad = chartModel({ ...sample().curve!, gradTrue: null, gradOther: null });
  assert.ok(noGrad && !noGrad.hasGradTrue && noGrad.data[2].every((v) => v === null));
});
