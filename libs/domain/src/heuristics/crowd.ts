/**
 * The vote of a `crowd` heuristic on one record (docs/crowd.md, docs/heuristics.md): each crowd
 * pseudonym's answer on the record counts once for every label it gives (a single-label task:
 * one label per pseudonym); the label given by the most pseudonyms is the vote. Abstains (null)
 * when nobody answered or the top labels tie: a split crowd is no signal.
 */
export function crowdVote(counts: Iterable<readonly [labelId: string, pseudonyms: number]>): string | null {
  let best: string | null = null;
  let bestCount = 0;
  let tied = false;
  for (const [labelId, n] of counts) {
    if (n <= 0) continue;
    if (n > bestCount) {
      best = labelId;
      bestCount = n;
      tied = false;
    } else if (n === bestCount) tied = true;
  }
  return tied ? null : best;
}
