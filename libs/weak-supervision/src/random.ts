/**
 * A seeded xorshift32 generator of numbers in [0, 1): synthetic label matrices in tests and
 * benchmarks are the same on every run and machine.
 */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}
