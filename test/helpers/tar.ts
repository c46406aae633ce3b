// A small byte-level tar reader for checking layers: ustar headers, PAX extended headers ('x',
// with path, linkpath, mtime and SCHILY.xattr.* records) and GNU long names ('L', 'K').

/** One member of a tar archive, with PAX values applied. */
export interface TarMember {
  name: Buffer;
  /** The typeflag character: '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo. */
  type: string;
  linkname: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** The PAX mtime record when present ("SECONDS.FRACTION"), else the ustar seconds. */
  mtime: string;
  devMajor: number;
  devMinor: number;
  xattrs: Map<string, Buffer>;
  content: Buffer;
}

const BLOCK = 512;

function field(block: Buffer, offset: number, length: number): Buffer {
  const raw = block.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return nul < 0 ? raw : raw.subarray(0, nul);
}

function octal(block: Buffer, offset: number, length: number): number {
  const text = field(block, offset, length).toString('latin1').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** Parses PAX records ("LEN KEY=VALUE\n") into raw values by key. */
function paxRecords(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = parseInt(data.toString('latin1', offset, space), 10);
    const record = data.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    records.set(record.subarray(0, equals).toString('utf8'), record.subarray(equals + 1));
    offset += length;
  }
  return records;
}

/** Reads every member of an uncompressed tar archive, in archive order. */
export function readTar(archive: Buffer): TarMember[] {
  const members: TarMember[] = [];
  let pax = new Map<string, Buffer>();
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  let offset = 0;

  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const type = String.fromCharCode(header[156] || 0x30);
    const size = octal(header, 124, 12);
    const content = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'x') {
      pax = paxRecords(content);
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L' || type === 'K') {
      const value = field(content, 0, content.length);
      if (type === 'L') longName = value;
      else longLink = value;
      continue;
    }

    const prefix = field(header, 345, 155);
    const shortName = field(header, 0, 100);
    const name = pax.get('path') ?? longName ?? (prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), shortName]) : shortName);
    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of pax) {
      if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    }
    members.push({
      name: Buffer.from(name),
      type,
      linkname: Buffer.from(pax.get('linkpath') ?? longLink ?? field(header, 157, 100)),
      mode: octal(header, 100, 8),
      uid: pax.has('uid') ? Number(pax.get('uid')!.toString()) : octal(header, 108, 8),
      gid: pax.has('gid') ? Number(pax.get('gid')!.toString()) : octal(header, 116, 8),
      size,
      mtime: pax.get('mtime')?.toString('latin1') ?? String(octal(header, 136, 12)),
      devMajor: octal(header, 329, 8),
      devMinor: octal(header, 337, 8),
      xattrs,
      content: Buffer.from(content),
    });
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
  return members;
}

/** Returns the member names of an archive as latin1 strings, in archive order. */
export function tarNames(archive: Buffer): string[] {
  return readTar(archive).map((member) => member.name.toString('latin1'));
}
