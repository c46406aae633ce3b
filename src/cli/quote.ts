// Rendering path bytes for people and for scripts, the way Git does.

const ESCAPES: Record<number, string> = { 0x07: '\\a', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0b: '\\v', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

/**
 * Quotes a path as Git does with core.quotePath on: a path with control bytes, '"', '\' or bytes
 * above 0x7f is wrapped in double quotes with C escapes and octal \NNN bytes; other paths are as is.
 */
export function quotePath(path: Buffer): string {
  let needsQuotes = false;
  for (const byte of path) {
    if (byte < 0x20 || byte >= 0x7f || byte === 0x22 || byte === 0x5c) {
      needsQuotes = true;
      break;
    }
  }
  const text = path.toString('latin1');
  if (!needsQuotes) return text;
  let out = '"';
  for (const byte of path) {
    if (ESCAPES[byte]) out += ESCAPES[byte];
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return out + '"';
}

/** Shows the rootfs itself, whose path is empty, as '.'. */
export function displayPath(path: Buffer): string {
  return path.length === 0 ? '.' : quotePath(path);
}

/**
 * Renders a path for JSON: `path` is the UTF-8 text, and when the bytes are not valid UTF-8,
 * `pathBase64` carries the exact bytes (and `path` has U+FFFD where bytes were invalid).
 */
export function jsonPath(path: Buffer, key = 'path'): Record<string, string> {
  const text = path.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(path)) return { [key]: text };
  return { [key]: text, [`${key}Base64`]: path.toString('base64') };
}
