import assert from "node:assert/strict";
import { redactArgv, redactSecrets } from "./redact.ts";

Deno.test("redact: credentials in a command line are hidden, everything else is kept", () => {
  const dashKey = "-rU8Q}#9L0q(xv@3&uJ.kT2b!Wz*1mN+eY^4sA5d";
  assert.equal(dashKey.length, 40);
  const flagLikeKey = "--abcdefghijklmnopqrstuvwxyz0123456789ab";
  const cases: [string, string][] = [
    // Flags named like a credential, with a space or '='.
    [
      "deno run cmd/node_agent.ts --curve-secret Ab}1x.y --bind tcp://127.0.0.1:5531",
      "deno run cmd/node_agent.ts --curve-secret *** --bind tcp://127.0.0.1:5531",
    ],
    ["app --db-password=hunter2 -v", "app --db-password=*** -v"],
    ["app --API_TOKEN xyz", "app --API_TOKEN ***"],
    ["app --pass hunter2 --port 5432", "app --pass *** --port 5432"],
    ["app --pwd hunter2", "app --pwd ***"],
    ["app --passwd=hunter2", "app --passwd=***"],
    ["app --client-secret s3 --auth-token t0k", "app --client-secret *** --auth-token ***"],
    ["app --credentials c.json", "app --credentials ***"],
    ["app --api-key k1 --apikey=k2", "app --api-key *** --apikey=***"],
    ["app -password hunter2", "app -password ***"],
    // The short password flag.
    ["mysql -u root -p hunter2 -h db", "mysql -u root -p *** -h db"],
    ["sshpass -p hunter2 ssh host", "sshpass -p *** ssh host"],
    // user:password pairs.
    ["curl -u admin:hunter2 https://x", "curl -u admin:*** https://x"],
    ["curl --user=admin:hunter2 https://x", "curl --user=admin:*** https://x"],
    ["curl --proxy-user bob:pw -U eve:pw2 x", "curl --proxy-user bob:*** -U eve:*** x"],
    ["su -u admin", "su -u admin"],
    // URLs with a password in the userinfo, anywhere in an argument.
    ["psql postgres://admin:hunter2@db:5432/app", "psql postgres://admin:***@db:5432/app"],
    ["app --db=mysql://u:p@h/x", "app --db=mysql://u:***@h/x"],
    ["app https://user@host/path http://h:80/", "app https://user@host/path http://h:80/"],
    // Environment assignments of such names.
    [
      "env SECRET_ENV=hunter2 DB_PASSWORD=x GITHUB_TOKEN=t app",
      "env SECRET_ENV=*** DB_PASSWORD=*** GITHUB_TOKEN=*** app",
    ],
    ["env LANG=C PATH=/bin app", "env LANG=C PATH=/bin app"],
    // Z85 keys may start with '-' and must still be hidden.
    [`agent --curve-secret ${dashKey} -v`, "agent --curve-secret *** -v"],
    [`agent --curve-secret ${flagLikeKey}`, "agent --curve-secret ***"],
    // Not values: the next flag, flags without a value, names that only contain the words.
    ["ssh-agent -k", "ssh-agent -k"],
    ["app --key --verbose", "app --key --verbose"],
    ["app --token -x", "app --token -x"],
    ["/usr/bin/keychain --list", "/usr/bin/keychain --list"],
    ["git log --author alice", "git log --author alice"],
    // Spacing is kept.
    ["a  --pass\tx   b", "a  --pass\t***   b"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(redactSecrets(input), expected, input);
  }
});

Deno.test("redact: with the argument vector, the whole value after a flag is hidden", () => {
  const cases: [string[], string[]][] = [
    [["app", "--password", "two words", "-v"], ["app", "--password", "***", "-v"]],
    [["app", "--pass", "a b c"], ["app", "--pass", "***"]],
    [["curl", "-u", "admin:pass with space", "x"], ["curl", "-u", "admin:***", "x"]],
    [["app", "--db", "postgres://a:b c@d/e"], ["app", "--db", "postgres://a:***@d/e"]],
    [["sh", "-c", "PASSWORD=x run"], ["sh", "-c", "PASSWORD=*** run"]],
    [["sh", "-c", "mysql -p hunter2  -h db"], ["sh", "-c", "mysql -p ***  -h db"]],
    [["app", "--token"], ["app", "--token"]],
  ];
  for (const [argv, expected] of cases) {
    assert.deepEqual(redactArgv(argv), expected, JSON.stringify(argv));
  }
});
