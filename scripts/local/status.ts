/** `npm run status`: every object under the prefix with its ivr status, FileId and error. */
import { readResult, userMetadataFromHeaders } from '../../shared/core/metadata';
import { cosClient, findStack } from './client';
import { BUCKET, readSettings, REGION } from './settings';

async function main(): Promise<void> {
  const s = readSettings(process.argv.slice(2));
  const stack = await findStack(s);
  const cos = cosClient(stack.cosPort);
  const rows: Array<Record<string, string | number | undefined>> = [];
  let marker: string | undefined;
  for (;;) {
    const page = await cos.getBucket({ Bucket: BUCKET, Region: REGION, Prefix: stack.prefix, Marker: marker, MaxKeys: 1000 });
    for (const o of page.Contents ?? []) {
      const head = await cos.headObject({ Bucket: BUCKET, Region: REGION, Key: o.Key });
      const r = readResult(userMetadataFromHeaders(head.headers as Record<string, string>));
      rows.push({ key: o.Key, size: Number(o.Size), status: r?.status ?? '(none yet)', fileId: r?.fileId, review: r?.review, error: r?.errorCode ? `${r.errorCode}: ${r.errorMessage ?? ''}` : undefined });
    }
    if (page.IsTruncated !== 'true' || !page.Contents?.length) break;
    marker = page.NextMarker || page.Contents[page.Contents.length - 1].Key;
  }
  if (s.json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  if (rows.length === 0) {
    process.stdout.write(`no objects under ${stack.prefix} yet: copy an .mp3 or .wav into the drop folder\n`);
    return;
  }
  const width = Math.min(60, Math.max(...rows.map((r) => String(r.key).length)));
  process.stdout.write(`${'KEY'.padEnd(width)}  ${'STATUS'.padEnd(10)} ${'FILEID'.padEnd(8)} ${'REVIEW'.padEnd(9)} ERROR\n`);
  for (const r of rows) {
    process.stdout.write(`${String(r.key).padEnd(width)}  ${String(r.status).padEnd(10)} ${String(r.fileId ?? '-').padEnd(8)} ${String(r.review ?? '-').padEnd(9)} ${r.error ?? ''}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`npm run status: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
