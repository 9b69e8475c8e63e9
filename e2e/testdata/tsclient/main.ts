// A vendor's first program against casework: the client that
// @hey-api/openapi-ts generated from /openapi.json, used as generated.
// It prints what it saw as one line of JSON for the e2e test to check.
import { client } from './client/client.gen';
import { householdServiceListHouseholds } from './client/sdk.gen';
import type { Status } from './client/types.gen';

// Node's globals, declared here so that no @types package is needed.
declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

async function main(): Promise<void> {
  client.setConfig({ baseUrl: process.env.CASEWORK_URL });

  // The bearer scheme of the document: the client sends the token.
  const listed = await householdServiceListHouseholds({
    auth: () => process.env.CASEWORK_TOKEN,
    query: { pageSize: 10 },
  });
  // Without credentials: a typed google.rpc.Status with an ErrorInfo.
  const refused = await householdServiceListHouseholds({ query: { pageSize: 10 } });
  const error = refused.error as Status | undefined;
  const info = error?.details.find((d) => '@type' in d && d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');

  console.log(JSON.stringify({
    status: listed.response?.status,
    requestId: listed.response?.headers.get('X-Request-Id'),
    households: (listed.data?.households ?? []).map((h) => h.name),
    refusedStatus: refused.response?.status,
    refusedReason: info && 'reason' in info ? info.reason : undefined,
  }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
