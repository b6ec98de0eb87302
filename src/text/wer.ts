// Normalized word error rate, used by tests and the benchmark to check words, not just text.
const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** Integers as spoken ("87" -> "eighty seven"), so "87" and "eighty-seven" compare equal. */
export function spellNumber(n: number): string {
  if (n < 20) return ONES[n];
  if (n < 100) return TENS[Math.floor(n / 10)] + (n % 10 ? ' ' + ONES[n % 10] : '');
  if (n < 1000) return ONES[Math.floor(n / 100)] + ' hundred' + (n % 100 ? ' ' + spellNumber(n % 100) : '');
  if (n < 1e6) return spellNumber(Math.floor(n / 1000)) + ' thousand' + (n % 1000 ? ' ' + spellNumber(n % 1000) : '');
  return String(n);
}

/** Lower-case, numbers as spoken, punctuation dropped (hyphens split words), whitespace collapsed. */
export function normalizeText(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/\d+/g, (d) => ` ${spellNumber(Number(d))} `)
    .replace(/[-\u2013\u2014]/g, ' ')
    .replace(/[^\p{L}\p{N}\s']/gu, '')
    .replace(/'/g, '')
    .split(/\s+/)
    .filter(Boolean);
}

/** Word error rate of `hypothesis` against `reference`, after normalization. */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const ref = normalizeText(reference);
  const hyp = normalizeText(hypothesis);
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1;
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[hyp.length] / ref.length;
}
