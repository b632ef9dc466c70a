// The RFC 6902 patch that turns one JSON document into another: what the editor previews and
// what it shows as "your change". Objects are compared key by key; anything else is replaced
// whole (lists are leaves, as everywhere in the service).

import { pointerSegment } from "./dom.js";

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function deepEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

export function jsonDiff(before, after, pointer = "", ops = []) {
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key)) ops.push({ op: "remove", path: `${pointer}/${pointerSegment(key)}` });
  }
  for (const key of Object.keys(after)) {
    const path = `${pointer}/${pointerSegment(key)}`;
    if (!Object.hasOwn(before, key)) ops.push({ op: "add", path, value: after[key] });
    else if (isObject(before[key]) && isObject(after[key])) jsonDiff(before[key], after[key], path, ops);
    else if (!deepEqual(before[key], after[key])) ops.push({ op: "replace", path, value: after[key] });
  }
  return ops;
}
