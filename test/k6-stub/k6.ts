// Stand-in for k6 (see state.ts): check runs every checker, as k6 does.
export function check<T>(value: T, sets: Record<string, (v: T) => boolean>): boolean {
  return Object.values(sets)
    .map((f) => f(value))
    .every(Boolean);
}
