// The last checkout's outcome, kept for the confirmation and error pages (and a reload).

const KEY = 'tracemart.last_checkout';

export function saveOutcome(outcome) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(outcome));
  } catch {
    // Shown from memory only.
  }
  last = outcome;
}

let last = null;

export function lastOutcome() {
  if (last) return last;
  try {
    last = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    last = null;
  }
  return last;
}
