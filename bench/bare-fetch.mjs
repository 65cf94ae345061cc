// The floor for any JavaScript action making this upload: Node starting and making one HTTPS-style
// POST with the built-in fetch. Same request body and headers the SDK sends, to the same emulator.
const response = await fetch(`${process.env.BENCH_BASE_URL}/organization/certificates`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.BENCH_ADMIN_KEY}` },
  body: JSON.stringify({ certificate: process.env.BENCH_CERTIFICATE, name: 'bench' }),
});
const body = await response.json();
if (!response.ok || !body.id) {
  console.error(`bare fetch failed: HTTP ${response.status}`);
  process.exit(1);
}
process.stdout.write(`${body.id}\n`);
