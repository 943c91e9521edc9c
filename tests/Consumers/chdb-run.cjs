// Runs a plan of SQL steps in one embedded ClickHouse (chdb) session and prints one JSON line per step:
// {"name": ..., "rows": [...]} or {"name": ..., "error": "..."}. The plan is a JSON file:
// {"session": "/tmp/dir", "steps": [{"name": "...", "sql": "..."}]}; a step may hold several statements.
// Used by tests/Consumers/ClickHouseTests.cs; chdb is loaded from CHDB_MODULE (the cached npm install).
'use strict';
const fs = require('fs');
const { Session } = require(process.env.CHDB_MODULE);

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const session = new Session(plan.session);
let failed = false;
for (const step of plan.steps) {
  if (failed) break;
  try {
    const text = String(session.query(step.sql, 'JSONEachRow'));
    const rows = text.split('\n').filter(line => line.length > 0).map(line => JSON.parse(line));
    process.stdout.write(JSON.stringify({ name: step.name, rows }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ name: step.name, error: String(e && e.message || e) }) + '\n');
    failed = true; // later steps depend on earlier ones
  }
}
session.cleanup();
