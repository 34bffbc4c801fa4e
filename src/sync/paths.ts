/** Relative path helpers. Paths are relative to the master root, '' is the root itself. */

export const parentOf = (path: string): string => {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
};

/** Proper ancestors, nearest first, ending with the root ''. */
export function* ancestorsOf(path: string): Generator<string> {
  let p = path;
  while (p !== '') {
    p = parentOf(p);
    yield p;
  }
}

/** Whether `a` is `b` or lies inside it. */
export const isWithin = (a: string, b: string): boolean => b === '' || a === b || a.startsWith(`${b}/`);

/** Whether one of `a` and `b` holds the other (or they are the same). */
export const overlaps = (a: string, b: string): boolean => isWithin(a, b) || isWithin(b, a);

/** First component: the subtree a path belongs to. */
export const topOf = (path: string): string => {
  const i = path.indexOf('/');
  return i < 0 ? path : path.slice(0, i);
};
