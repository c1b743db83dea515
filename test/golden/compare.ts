/** Tolerant comparison helpers for golden checks. They return a mismatch description or null. */

export function closeTo(actual: number, expected: number, rel = 1e-9, abs = 1e-12): boolean {
  if (Number.isNaN(actual) || Number.isNaN(expected)) return false;
  if (actual === expected) return true;
  const diff = Math.abs(actual - expected);
  return diff <= abs || diff <= rel * Math.max(Math.abs(actual), Math.abs(expected));
}

/**
 * Compares numbers, arrays and objects recursively; every key of `expected` must be present in `actual`.
 * Non-numeric leaves must be equal.
 */
export function compareDeep(
  actual: unknown,
  expected: unknown,
  rel = 1e-9,
  abs = 1e-12,
  path = "",
): string | null {
  if (typeof expected === "number") {
    if (typeof actual !== "number")
      return `${path || "value"}: expected ${expected}, got ${JSON.stringify(actual)}`;
    return closeTo(actual, expected, rel, abs)
      ? null
      : `${path || "value"}: expected ${expected}, got ${actual}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return `${path || "value"}: expected array of ${expected.length}, got ${JSON.stringify(actual)?.slice(0, 80)}`;
    for (let i = 0; i < expected.length; i++) {
      const m = compareDeep(actual[i], expected[i], rel, abs, `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object")
      return `${path || "value"}: expected object, got ${actual}`;
    for (const [k, v] of Object.entries(expected)) {
      const m = compareDeep((actual as Record<string, unknown>)[k], v, rel, abs, path ? `${path}.${k}` : k);
      if (m) return m;
    }
    return null;
  }
  return actual === expected
    ? null
    : `${path || "value"}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}
