/**
 * The deploy package as a deterministic zip: every file of `dist/package/`, deflated by fflate
 * with a fixed timestamp and fixed attributes, so the same bundles always give the same bytes and
 * the same content hash (which is how a re-run knows the code is unchanged).
 */
import { createHash } from 'crypto';
import { zipSync, type Zippable } from 'fflate';
import * as fs from 'fs';
import * as path from 'path';

/** A built deploy package. */
export interface PackageZip {
  /** The zip file. */
  bytes: Buffer;
  /** Paths inside the zip, `/`-separated, sorted. */
  files: string[];
  /** SHA-256 of the file names and contents (hex): identifies the code independently of zip details. */
  sha256: string;
}

function listFiles(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/**
 * A fixed modification time keeps the zip reproducible. fflate writes the DOS date from the local
 * calendar fields, so the date is built from local fields too: 1980-01-01 00:00, the earliest a
 * zip can hold, whatever the machine's time zone.
 */
const MTIME = new Date(1980, 0, 1);
/** Made on Unix, so that unzip and SCF read the mode: a regular file, rw-r--r--. */
const UNIX = 3;
const REGULAR_FILE_0644 = (0o100644 << 16) >>> 0;

/** Zips every file under `dir` (the whole deploy package, whatever files it holds). */
export function zipDirectory(dir: string): PackageZip {
  if (!fs.existsSync(dir)) throw new Error(`${dir} does not exist: run npm run build`);
  const files = listFiles(dir);
  if (files.length === 0) throw new Error(`${dir} is empty: run npm run build`);
  const hash = createHash('sha256');
  // Flat `/`-separated keys, so fflate adds no directory entries. It writes entries in key order,
  // which is the sorted order of `files` except that JavaScript lists bare-integer names first.
  const entries: Zippable = {};
  for (const name of files) {
    const data = fs.readFileSync(path.join(dir, name));
    hash.update(name).update('\0').update(data).update('\0');
    entries[name] = data;
  }
  const zip = zipSync(entries, { level: 9, mtime: MTIME, os: UNIX, attrs: REGULAR_FILE_0644 });
  return { bytes: Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength), files, sha256: hash.digest('hex') };
}
