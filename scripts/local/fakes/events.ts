/** Builds COS trigger events exactly as SCF delivers them (platform reference §6). */
import { cosEncode } from './signatures';

export interface EventObject {
  bucket: string; // full name with appid
  region: string; // ap-*
  key: string;
  size: number;
  eventName?: string;
  /** Percent-encode the key inside `cosObject.key` too (COS's behaviour there is undocumented). */
  encodeKeyField?: boolean;
}

const SHORT_REGION: Record<string, string> = { 'ap-guangzhou': 'gz', 'ap-shanghai': 'sh', 'ap-beijing': 'bj', 'ap-chengdu': 'cd' };

export function cosEventRecord(o: EventObject, reqid = Math.floor(Math.random() * 1e12)) {
  const dash = o.bucket.lastIndexOf('-');
  const name = o.bucket.slice(0, dash);
  const appid = o.bucket.slice(dash + 1);
  const encodedKey = o.key.split('/').map(cosEncode).join('/');
  return {
    cos: {
      cosSchemaVersion: '1.0',
      cosObject: {
        url: `http://${o.bucket}.cos.${o.region}.myqcloud.com/${encodedKey}`,
        meta: { 'x-cos-request-id': `req-${reqid}` },
        vid: '',
        key: `/${appid}/${name}/${o.encodeKeyField ? encodedKey : o.key}`,
        size: o.size,
      },
      cosBucket: { region: SHORT_REGION[o.region] ?? o.region, name, appid, cosRegion: o.region },
      cosNotificationId: 'unkown',
    },
    event: {
      eventName: o.eventName ?? 'cos:ObjectCreated:Put',
      eventVersion: '1.0',
      eventTime: Math.floor(Date.now() / 1000),
      eventSource: 'qcs::cos',
      requestParameters: { requestSourceIP: '127.0.0.1', requestHeaders: {} },
      eventQueue: `qcs:0:scf:${o.region}:appid/${appid}:default.ivr-upload.$LATEST`,
      reqid,
    },
  };
}

export type CosEventRecord = ReturnType<typeof cosEventRecord>;

export function cosEvent(...records: CosEventRecord[]) {
  return { Records: records };
}
