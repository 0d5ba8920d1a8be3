/** The parts of jstat (no published types) that stats.ts uses. */
declare module 'jstat' {
  interface Distribution {
    cdf(x: number, ...params: number[]): number;
    pdf(x: number, ...params: number[]): number;
    inv(p: number, ...params: number[]): number;
  }
  export const jStat: {
    studentt: Distribution;
    normal: Distribution;
    chisquare: Distribution;
    noncentralt: Distribution;
  };
}
