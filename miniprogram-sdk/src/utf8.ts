/**
 * UTF-8 encoding of a JavaScript string, for engines without `TextEncoder` (WeChat's).
 * Lone surrogates become U+FFFD, as `TextEncoder` does, so both give the same bytes.
 */
export function utf8Encode(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let codePoint = text.charCodeAt(i);
    if (codePoint >= 0xd800 && codePoint <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        codePoint = 0xfffd;
      }
    } else if (codePoint >= 0xdc00 && codePoint <= 0xdfff) {
      codePoint = 0xfffd;
    }
    if (codePoint < 0x80) {
      bytes.push(codePoint);
    } else if (codePoint < 0x800) {
      bytes.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f));
    } else if (codePoint < 0x10000) {
      bytes.push(
        0xe0 | (codePoint >> 12),
        0x80 | ((codePoint >> 6) & 0x3f),
        0x80 | (codePoint & 0x3f),
      );
    } else {
      bytes.push(
        0xf0 | (codePoint >> 18),
        0x80 | ((codePoint >> 12) & 0x3f),
        0x80 | ((codePoint >> 6) & 0x3f),
        0x80 | (codePoint & 0x3f),
      );
    }
  }
  return new Uint8Array(bytes);
}

/** Code units are turned into a string in slices: `fromCharCode.apply` has an argument limit. */
const DECODE_CHUNK = 8192;

/**
 * UTF-8 decoding to a JavaScript string, for engines without `TextDecoder` (WeChat's).
 * Follows the WHATWG Encoding Standard's decoder: a byte-order mark is kept, and each maximal
 * invalid subsequence (bad lead byte, overlong form, surrogate, value past U+10FFFF, truncated
 * sequence) becomes one U+FFFD, so the result equals `new TextDecoder().decode(bytes)` with
 * `ignoreBOM: true`.
 */
export function utf8Decode(bytes: Uint8Array): string {
  let text = '';
  let units: number[] = [];
  const emit = (codePoint: number): void => {
    if (codePoint >= 0x10000) {
      const offset = codePoint - 0x10000;
      units.push(0xd800 + (offset >> 10), 0xdc00 + (offset & 0x3ff));
    } else {
      units.push(codePoint);
    }
    if (units.length >= DECODE_CHUNK) {
      text += String.fromCharCode.apply(null, units);
      units = [];
    }
  };

  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      emit(lead);
      i++;
      continue;
    }
    let needed: number;
    let codePoint: number;
    // Bounds of the first continuation byte: they exclude overlong forms, surrogates and
    // values past U+10FFFF (WHATWG "UTF-8 lower/upper boundary").
    let lower = 0x80;
    let upper = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      needed = 1;
      codePoint = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      needed = 2;
      codePoint = lead & 0x0f;
      if (lead === 0xe0) lower = 0xa0;
      if (lead === 0xed) upper = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      needed = 3;
      codePoint = lead & 0x07;
      if (lead === 0xf0) lower = 0x90;
      if (lead === 0xf4) upper = 0x8f;
    } else {
      emit(0xfffd);
      i++;
      continue;
    }
    let next = i + 1;
    let complete = true;
    for (let k = 0; k < needed; k++, next++) {
      const byte = next < bytes.length ? bytes[next] : -1;
      if (byte < lower || byte > upper) {
        complete = false;
        break;
      }
      lower = 0x80;
      upper = 0xbf;
      codePoint = (codePoint << 6) | (byte & 0x3f);
    }
    // On failure the offending byte (at `next`) is not consumed: it may start the next sequence.
    emit(complete ? codePoint : 0xfffd);
    i = next;
  }
  if (units.length > 0) {
    text += String.fromCharCode.apply(null, units);
  }
  return text;
}
