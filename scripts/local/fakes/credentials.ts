/** Credentials the fakes accept. Test-only values: they open nothing outside this process. */
export interface FakeCredential {
  secretId: string;
  secretKey: string;
  /** When set, requests must carry this session token (SCF role credentials always do). */
  token?: string;
}

export const TEST_CREDENTIAL: FakeCredential = {
  secretId: 'AKIDfakeLocalStack0000000000000000',
  secretKey: 'fakeLocalStackSecretKey0000000000',
  token: 'fakeLocalStackSessionToken000000000000000000000000',
};
