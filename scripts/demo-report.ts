import path from 'node:path';
import {
  DEMO_BULK_SUBJECTS_PER_HOUR,
  DEMO_CLIENTS,
  DEMO_PEOPLE,
  DEMO_ROLES,
  registrationOf,
} from './demo-data';
import type { RunningDemo } from './demo-service';

/**
 * What a newcomer reads after `npm run demo`: where the service and its
 * console are, one key per client, what the demo made, and requests to paste.
 * The names and id numbers shown are the demo's fictional constants.
 */

const yuan = (fen: number) => (fen / 100).toFixed(2);

export function demoReport(demo: RunningDemo): string[] {
  const { url, result, database, config } = demo;
  const { summary, clients } = result;
  const relative = (file: string) => path.relative(process.cwd(), file) || file;
  const where = database.embedded
    ? `the embedded ${database.embedded.engine}, data in ${relative(database.embedded.dataDir)}`
    : 'the server of MONGODB_URI';
  const lines = [
    '',
    `Customs identity demo: ${url}  (database ${database.name} on ${where})`,
    result.seededNow
      ? 'Seeded now through the HTTP API.'
      : 'Already seeded by an earlier run: nothing was added.',
    '',
    `API keys (also in ${relative(result.keyFile)}, mode 0600; shown once by the service, kept here for the demo):`,
  ];
  for (const role of DEMO_ROLES) {
    const client = DEMO_CLIENTS[role];
    const partner = client.partnerCode ? ` ${client.partnerCode}` : '';
    const fresh = result.registered.includes(role) && !result.seededNow ? ' (re-registered)' : '';
    lines.push(
      `  ${role.padEnd(8)} ${`${client.name}${partner}`.padEnd(26)} ${clients[role].apiKey}${fresh}`,
    );
  }
  const defaultAdmin = config.adminApiKey === 'dev-admin-key-not-for-production';
  lines.push(
    `  admin    ${defaultAdmin ? 'dev-admin-key-not-for-production (the development default)' : 'your ADMIN_API_KEY'}`,
    '',
    `Console: ${url}/console  (paste the auditor key; search the id number of 演示王明, ${DEMO_PEOPLE.wang.idNumber})`,
    '',
    'What is there (all people fictional: 演示 names, never-assigned division code 1199xx, +1 202 555-01xx phones):',
  );
  for (const { key, identityId, status } of summary.registrations) {
    const person = DEMO_PEOPLE[registrationOf(key).person];
    lines.push(
      `  ${person.name.padEnd(6, '　')} ${identityId}  ${status.padEnd(10)} ${describe(key)}`,
    );
  }
  lines.push(`  catalogue: DEMO-MILK-900, DEMO-CREAM-50, DEMO-JADE-1`);
  for (const order of summary.orders) {
    const parts = [
      order.decision === 'REJECTED' ? `REJECTED ${order.reasons.join(', ')}` : order.status,
      order.shipment && `shipment ${order.shipment}`,
      order.declaration && `declaration ${order.declaration}`,
    ].filter(Boolean);
    lines.push(`  ${order.orderNo}  ${parts.join(', ')}`);
  }
  const restored = summary.returned.restoredFen;
  lines.push(
    `  return: ${summary.returned.orderNo}, one face cream back after customs release${restored === null ? '' : ` (RMB ${yuan(restored)} back to the allowance)`}`,
  );
  const [first] = summary.sharedQuota;
  if (first) {
    lines.push(
      `  one allowance per person: 演示赵丽's two accounts both show RMB ${yuan(first.usedFen)} used, ${yuan(first.reservedFen)} reserved`,
    );
  }
  lines.push(
    summary.alert
      ? `  alert: ${summary.alert.rule} by demo-checkout (${summary.alert.count} people in an hour; this demo sets ALERT_BULK_SUBJECTS_PER_HOUR=${DEMO_BULK_SUBJECTS_PER_HOUR}, default 200)`
      : '  alert: none raised (see GET /v1/audit-alerts)',
    summary.ceb621Xml
      ? '  the broker fetched the signed CEB621 XML (sample CEB621_DEFAULTS unless you set yours)'
      : '  CEB621 XML not fetched: CEB621_DEFAULTS is incomplete',
    '',
    'Try:',
    `  export BASE=${url} CHECKOUT=${clients.checkout.apiKey} AUDITOR=${clients.auditor.apiKey}`,
    `  export BROKER=${clients.customs.apiKey} CARRIER=${clients.carrier.apiKey}`,
    '  curl -s $BASE/v1/audit-alerts -H "Authorization: Bearer $AUDITOR" | jq \'.items[] | {rule, actor, count}\'',
    '  curl -s "$BASE/v1/shipments?status=READY" -H "Authorization: Bearer $CARRIER" | jq',
    '  curl -s "$BASE/v1/declarations?status=ENTERED" -H "Authorization: Bearer $BROKER" | jq \'.items[] | {orderNo, status}\'',
    `  curl -s $BASE/v1/identities/${summary.registrations[0]?.identityId ?? '<id>'}/export -H "Authorization: Bearer $CHECKOUT" | jq`,
    '  curl -s $BASE/v1/audit-events/verify -H "Authorization: Bearer $AUDITOR" | jq \'{ok, checked}\'',
    '',
  );
  return lines;
}

function describe(key: string): string {
  switch (key) {
    case 'zhao-app':
    case 'zhao-web':
      return `one person, two accounts (${key}): one allowance`;
    case 'child':
      return 'a child of 演示陈静, registered with guardian consent';
    default:
      return DEMO_PEOPLE[registrationOf(key).person].role;
  }
}
