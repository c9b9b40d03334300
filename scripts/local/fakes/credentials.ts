/** Credentials the fakes accept. Test-only values: they open nothing outside this process. */
export interface FakeCredential {
  secretId: string;
  secretKey: string;
  /** When set, requests must carry this session token (SCF role credentials always do). */
  token?: string;
  /**
   * Whose key it is, for the CAM policy checks (see actions.ts): `function` (the default) is the
   * execution role, `deploy` the deploy user, and `operator` the account's owner doing something
   * by hand (a console switch a test sets up), which no policy of ours grants or checks.
   */
  role?: 'function' | 'deploy' | 'operator';
}

export const TEST_CREDENTIAL: FakeCredential = {
  secretId: 'AKIDfakeLocalStack0000000000000000',
  secretKey: 'fakeLocalStackSecretKey0000000000',
  token: 'fakeLocalStackSessionToken000000000000000000000000',
};
