/**
 * Interval arithmetic with open/closed ends, for domain warnings: `p` lies in the open
 * interval (0, 1) (softmax is strictly positive), `y` in [0, 1], logits anywhere.
 */
export interface Interval {
  lo: number;
  hi: number;
  /** The end itself is excluded. */
  loOpen: boolean;
  hiOpen: boolean;
}

export const iv = (lo: number, hi: number, loOpen = false, hiOpen = false): Interval => ({
  lo,
  hi,
  loOpen: loOpen || lo === -Infinity,
  hiOpen: hiOpen || hi === Infinity,
});
export const point = (v: number): Interval => iv(v, v);
export const REAL = iv(-Infinity, Infinity);
export const NONNEG = iv(0, Infinity);
export const POS = iv(0, Infinity, true);
export const UNIT_CLOSED = iv(0, 1);
export const UNIT_OPEN = iv(0, 1, true, true);

/** Endpoint with its openness, for combining. */
interface End {
  v: number;
  open: boolean;
}

function fromEnds(ends: End[]): Interval {
  let lo: End = { v: Infinity, open: true };
  let hi: End = { v: -Infinity, open: true };
  for (const e of ends) {
    if (Number.isNaN(e.v)) return REAL;
    if (e.v < lo.v || (e.v === lo.v && !e.open)) lo = e;
    if (e.v > hi.v || (e.v === hi.v && !e.open)) hi = e;
  }
  return iv(lo.v, hi.v, lo.open, hi.open);
}

export function add(a: Interval, b: Interval): Interval {
  return iv(a.lo + b.lo, a.hi + b.hi, a.loOpen || b.loOpen, a.hiOpen || b.hiOpen);
}

export function negate(a: Interval): Interval {
  return iv(-a.hi, -a.lo, a.hiOpen, a.loOpen);
}

export function sub(a: Interval, b: Interval): Interval {
  return add(a, negate(b));
}

// mul runs on every product node of every file check: it keeps its four candidate ends in
// these module variables instead of allocating objects (it is synchronous and not re-entrant).
let accLo = Infinity;
let accLoOpen = true;
let accHi = -Infinity;
let accHiOpen = true;
let accNaN = false;

/** One product of two ends into the accumulator; the same rules and order as fromEnds. */
function accProduct(xv: number, xOpen: boolean, yv: number, yOpen: boolean): void {
  let v: number;
  let open: boolean;
  // A closed zero end makes a closed zero; 0 * inf counts as 0 (an infinite end is never reached).
  if ((xv === 0 && !xOpen) || (yv === 0 && !yOpen)) {
    v = 0;
    open = false;
  } else {
    v = xv === 0 || yv === 0 ? 0 : xv * yv;
    open = xOpen || yOpen;
  }
  if (Number.isNaN(v)) {
    accNaN = true;
    return;
  }
  if (v < accLo || (v === accLo && !open)) {
    accLo = v;
    accLoOpen = open;
  }
  if (v > accHi || (v === accHi && !open)) {
    accHi = v;
    accHiOpen = open;
  }
}

export function mul(a: Interval, b: Interval): Interval {
  accLo = Infinity;
  accLoOpen = true;
  accHi = -Infinity;
  accHiOpen = true;
  accNaN = false;
  accProduct(a.lo, a.loOpen, b.lo, b.loOpen);
  accProduct(a.lo, a.loOpen, b.hi, b.hiOpen);
  accProduct(a.hi, a.hiOpen, b.lo, b.loOpen);
  accProduct(a.hi, a.hiOpen, b.hi, b.hiOpen);
  return accNaN ? REAL : iv(accLo, accHi, accLoOpen, accHiOpen);
}

export function contains(a: Interval, v: number): boolean {
  if (v < a.lo || v > a.hi) return false;
  if (v === a.lo && a.loOpen) return false;
  if (v === a.hi && a.hiOpen) return false;
  return true;
}

/** Can the interval reach a value <= 0? */
export function reachesNonPositive(a: Interval): boolean {
  return a.lo < 0 || (a.lo === 0 && !a.loOpen);
}

export function reachesNegative(a: Interval): boolean {
  return a.lo < 0;
}

export function reciprocal(a: Interval): Interval {
  if (contains(a, 0) || (a.lo < 0 && a.hi > 0)) return REAL;
  const inv = (e: End): End => ({ v: e.v === 0 ? (Object.is(e.v, -0) ? -Infinity : Infinity) : 1 / e.v, open: e.open || e.v === 0 });
  if (a.hi <= 0) {
    // negative side: 0 end (open) maps to -inf
    const lo = a.hi === 0 ? { v: -Infinity, open: true } : inv({ v: a.hi, open: a.hiOpen });
    const hi = inv({ v: a.lo, open: a.loOpen });
    return fromEnds([lo, hi]);
  }
  return fromEnds([inv({ v: a.hi, open: a.hiOpen }), inv({ v: a.lo, open: a.loOpen })]);
}

export function div(a: Interval, b: Interval): Interval {
  return mul(a, reciprocal(b));
}

/** Image of an increasing function. */
export function increasing(a: Interval, f: (x: number) => number): Interval {
  return iv(f(a.lo), f(a.hi), a.loOpen, a.hiOpen);
}

/** Image of a decreasing function. */
export function decreasing(a: Interval, f: (x: number) => number): Interval {
  return iv(f(a.hi), f(a.lo), a.hiOpen, a.loOpen);
}

/** Image of a function even around 0 and increasing on [0, inf). */
export function evenIncreasing(a: Interval, f: (x: number) => number): Interval {
  if (a.lo >= 0) return increasing(a, f);
  if (a.hi <= 0) return decreasing(a, f);
  const m = Math.max(-a.lo, a.hi);
  const mOpen = -a.lo > a.hi ? a.loOpen : a.hi > -a.lo ? a.hiOpen : a.loOpen && a.hiOpen;
  return iv(f(0), f(m), false, mOpen);
}

export function hull(a: Interval, b: Interval): Interval {
  return fromEnds([
    { v: a.lo, open: a.loOpen },
    { v: a.hi, open: a.hiOpen },
    { v: b.lo, open: b.loOpen },
    { v: b.hi, open: b.hiOpen },
  ]);
}

export function intersect(a: Interval, b: Interval): Interval {
  const lo = a.lo > b.lo ? { v: a.lo, open: a.loOpen } : a.lo < b.lo ? { v: b.lo, open: b.loOpen } : { v: a.lo, open: a.loOpen || b.loOpen };
  const hi = a.hi < b.hi ? { v: a.hi, open: a.hiOpen } : a.hi > b.hi ? { v: b.hi, open: b.hiOpen } : { v: a.hi, open: a.hiOpen || b.hiOpen };
  if (lo.v > hi.v) return a;
  return iv(lo.v, hi.v, lo.open, hi.open);
}

export function pow(a: Interval, b: Interval): Interval {
  // Constant integer exponent: exact; otherwise a safe over-approximation.
  if (b.lo === b.hi && Number.isInteger(b.lo)) {
    const k = b.lo;
    if (k === 0) return point(1);
    if (k > 0) {
      const f = (x: number): number => Math.pow(x, k);
      if (k % 2 === 1) return increasing(a, f);
      return evenIncreasing(a, f);
    }
    return reciprocal(pow(a, point(-k)));
  }
  if (a.lo >= 0) {
    const cands: End[] = [];
    for (const x of [{ v: a.lo, open: a.loOpen }, { v: a.hi, open: a.hiOpen }])
      for (const y of [{ v: b.lo, open: b.loOpen }, { v: b.hi, open: b.hiOpen }]) {
        const v = Math.pow(x.v, y.v);
        cands.push({ v: Number.isNaN(v) ? Infinity : v, open: x.open || y.open });
      }
    const r = fromEnds(cands);
    // x^y for x in (0,1) and y crossing 0 passes through 1.
    return r;
  }
  return REAL;
}
