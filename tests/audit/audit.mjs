// Runs graphql-http's GraphQL-over-HTTP server audits against a live endpoint and prints the
// results as one JSON array on stdout: [{id, name, status, reason?, status_code?, body?}].
// Why a script of ours: the pytest test (tests/api/graphql/test_gql_audit.py) starts the server,
// makes a token and reads this JSON; the audit needs the token on every request, so fetchFn adds it.
//
//   node audit.mjs URL TOKEN
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs URL TOKEN');
  process.exit(2);
}

function withToken(input, init = {}) {
  const headers = new Headers(init.headers || {});
  headers.set('Authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

async function described(result) {
  if (result.status === 'ok') return { id: result.id, name: result.name, status: 'ok' };
  let body = null;
  try {
    body = await result.response.text();
  } catch {
    body = null; // already read by the audit
  }
  return { id: result.id, name: result.name, status: result.status, reason: result.reason,
           status_code: result.response.status, body };
}

const results = await auditServer({ url, fetchFn: withToken });
console.log(JSON.stringify(await Promise.all(results.map(described))));
