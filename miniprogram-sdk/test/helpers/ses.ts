/**
 * The seal's DER messages (docs/split-key.md, "Seal messages") as the server writes them with
 * mcert-ses: DER(`TBS_Sign`) v4 and a PDF signature's signed attributes. A minimal DER writer,
 * for the stand-in server of the tests.
 */

function length(len: number): number[] {
  if (len < 0x80) return [len];
  const bytes: number[] = [];
  for (let rest = len; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...length(body.length)]), body]));
}

const text = (tag: number) => (value: string) => tlv(tag, new Uint8Array(Buffer.from(value, 'utf8')));
const ia5 = text(0x16);
const utf8 = text(0x0c);
const sequence = (...content: Uint8Array[]) => tlv(0x30, ...content);
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const bits = (bytes: Uint8Array) => tlv(0x03, new Uint8Array([0]), bytes);

function integer(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  if (bytes.length === 0 || bytes[0] >= 0x80) bytes.unshift(0);
  return tlv(0x02, new Uint8Array(bytes));
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ` of Unix seconds. */
function generalizedTime(unix: number): Uint8Array {
  const iso = new Date(unix * 1000).toISOString();
  return text(0x18)(iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z');
}

/** UTCTime `YYMMDDHHMMSSZ` of Unix seconds. */
function utcTime(unix: number): Uint8Array {
  const iso = new Date(unix * 1000).toISOString();
  return text(0x17)(iso.slice(2, 19).replace(/[-T:]/g, '') + 'Z');
}

/** `title` percent-encoded as the server writes `propertyInfo`'s title. */
export function percentEncode(title: string): string {
  return Array.from(Buffer.from(title, 'utf8'), (byte) =>
    /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('');
}

export interface TbsSign {
  sealId: string;
  sealName: string;
  /** DER certificates the seal lists. */
  certificates: Uint8Array[];
  picture: Uint8Array;
  widthMm: number;
  heightMm: number;
  dataHash: Uint8Array;
  sessionId: string;
  title: string;
  timeInfo?: number;
}

/** DER(`TBS_Sign`) v4. */
export function tbsSign(t: TbsSign): Uint8Array {
  const sealInfo = sequence(
    sequence(ia5('ES'), integer(4), ia5('mcert')),
    ia5(t.sealId),
    sequence(
      integer(1),
      utf8(t.sealName),
      integer(1),
      sequence(...t.certificates.map(octets)),
      generalizedTime(1_700_000_000),
      generalizedTime(1_700_000_000),
      generalizedTime(2_000_000_000),
    ),
    sequence(ia5('PNG'), octets(t.picture), integer(t.widthMm), integer(t.heightMm)),
  );
  const seal = sequence(
    sealInfo,
    octets(new Uint8Array([0x30, 0x00])),
    tlv(0x06, new Uint8Array([0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75])),
    bits(new Uint8Array([0x30, 0x00])),
  );
  return sequence(
    integer(4),
    seal,
    generalizedTime(t.timeInfo ?? 1_763_700_000),
    bits(t.dataHash),
    ia5(`session=${t.sessionId}&title=${percentEncode(t.title)}`),
  );
}

const PKCS9 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09];

function attribute(last: number, value: Uint8Array): Uint8Array {
  return sequence(tlv(0x06, new Uint8Array([...PKCS9, last])), tlv(0x31, value));
}

/** The signed attributes of a sealed PDF's CMS signature. */
export function pdfSignedAttributes(digest: Uint8Array, signingTime = 1_763_700_000): Uint8Array {
  return tlv(
    0x31,
    attribute(3, tlv(0x06, new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]))),
    attribute(5, utcTime(signingTime)),
    attribute(4, octets(digest)),
  );
}
