import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkText, formatProgram } from '../../grammar/src/index';
import { formatChunked } from '../../server/src/features/formatting';

const PIECES = [
  'param   g = 2 in [0,5]',
  'let pt=sum(y*p)',
  'let pt2 = sum( y * p )  # trailing',
  'loss f = -(1-pt)^g *\n   log(pt)',
  'loss h = sum(y * p) +   # inside\n  1',
  '# a comment',
  '#',
  '',
  '',
  'loss ce = -sum(y*log(p))',
];

test('chunked formatting equals formatProgram on the whole text', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...PIECES), { minLength: 0, maxLength: 60 }), fc.integer({ min: 1, max: 8 }), fc.constantFrom('', '\n', '\n\n'), (lines, chunk, tail) => {
      const text = '\n'.repeat(lines.length % 3) + lines.join('\n') + tail;
      const program = checkText(text, { integrity: false }).parse.program;
      assert.equal(formatChunked(text, program, chunk), formatProgram(text, program, false));
    }),
    { numRuns: 300, seed: 42 },
  );
});
