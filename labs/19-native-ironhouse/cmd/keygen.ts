/**
 * keygen: CURVE certificates in czmq's zcert format (ZPL, Z85 keys), the files pyzmq's
 * `zmq.auth` reads and writes. `keygen --name N --dir D [--meta k=v]...` writes
 * `D/N.key` (public, 0644) and `D/N.key_secret` (0600, never overwritten);
 * `keygen show FILE` prints a certificate's public key and metadata; `keygen check DIR`
 * validates every certificate and its permissions (exit 1 on a problem);
 * `keygen public FILE.key_secret` derives the public key from the secret one with
 * `zmq_curve_public` (and `--write` restores a lost NAME.key). No command ever prints or
 * accepts a secret key on the command line.
 *
 * @module
 */
import { ConfigError, type RoleContext, runRole } from "@lib/role/mod.ts";
import { curvePublic } from "@lib/zmq/mod.ts";
import {
  CertError,
  certPaths,
  checkCertDirectory,
  fingerprint,
  formatCert,
  generateCert,
  parseCert,
  readCert,
  readSecretCert,
} from "@lib/zmq/zcert.ts";
import { checkLines, collectMeta, showLines } from "../internal/keygen.ts";

interface GenerateOptions {
  name: string;
  dir: string;
  meta: Record<string, string>;
  json?: boolean;
  publicDir?: string;
  keep?: boolean;
}

/** Runs `fn`; a CertError becomes one line and exit 1 (it never quotes a key). */
async function certified(ctx: RoleContext, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof CertError) && !(error instanceof Deno.errors.AlreadyExists)) throw error;
    ctx.log.error("certificate_error", { error: (error as Error).message });
    ctx.exitCode = 1;
  }
}

/** Reads stdin up to `max` bytes (a key, not a file), trimmed. */
async function readSmallStdin(max: number): Promise<string> {
  let text = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (text.length > max) break;
  }
  return text.trim();
}

await runRole<GenerateOptions>({
  name: "keygen",
  summary: "Writes, shows and checks CURVE certificates (czmq zcert / pyzmq zmq.auth format)",
  configure: (cmd) =>
    cmd
      .option("--name <name>", "certificate name: writes NAME.key and NAME.key_secret")
      .option("--dir <dir>", "directory to write into (created 0755)", ".")
      .option(
        "--meta <key=value>",
        "metadata entry (repeatable), e.g. --meta site=plant7 --meta role=sensor",
        collectMeta,
        {},
      )
      .option(
        "--public-dir <dir>",
        "also copy the public certificate NAME.key here (a directory to hand out, as zcert_save_public)",
      )
      .option(
        "--keep",
        "if NAME.key_secret exists and is valid, keep it (republish its public certificate) instead of failing",
      )
      .option("--json", "print the result as JSON"),
  validate(options) {
    if (options.name === undefined) return; // a subcommand, or --help
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(options.name) || options.name.startsWith(".")) {
      throw new ConfigError(
        `--name: expected 1-64 of [A-Za-z0-9_.-] not starting with a dot, got ${options.name}`,
      );
    }
  },
  async run(options, ctx) {
    if (options.name === undefined) {
      throw new ConfigError(
        "--name: expected a certificate name (or a command: show|check|public)",
      );
    }
    await certified(ctx, async () => {
      const secretPath = `${options.dir}/${options.name}.key_secret`;
      const { publicPath } = certPaths(secretPath);
      const existing = options.keep
        ? await Deno.lstat(secretPath).then(() => true, () => false)
        : false;
      let publicKey: string;
      if (existing) {
        // Re-provisioning (a container restart): the pair stays, its public file is rewritten.
        const cert = readSecretCert(secretPath);
        publicKey = cert.publicKey;
        await Deno.writeTextFile(publicPath, formatCert({ publicKey, metadata: cert.metadata }), {
          mode: 0o644,
        });
        ctx.log.info("certificate_kept", {
          secret_file: secretPath,
          fingerprint: fingerprint(publicKey),
        });
      } else {
        publicKey = await generateCert(secretPath, { metadata: options.meta });
      }
      if (options.publicDir) {
        await Deno.mkdir(options.publicDir, { recursive: true, mode: 0o755 });
        await Deno.copyFile(publicPath, `${options.publicDir}/${options.name}.key`);
        await Deno.chmod(`${options.publicDir}/${options.name}.key`, 0o644);
      }
      const result = {
        public_file: publicPath,
        secret_file: secretPath,
        public_key: publicKey,
        fingerprint: fingerprint(publicKey),
        metadata: { name: options.name, ...options.meta },
      };
      ctx.log.info("certificate_created", {
        public_file: publicPath,
        secret_file: secretPath,
        fingerprint: result.fingerprint,
      });
      if (options.json) ctx.print(JSON.stringify(result));
      else {
        ctx.print(`wrote ${publicPath} (public, 0644) and ${secretPath} (secret, 0600)`);
        ctx.print(`public-key:  ${publicKey}`);
        ctx.print(`fingerprint: ${result.fingerprint}`);
      }
    });
  },
  commands: {
    show: {
      summary: "Print a certificate's public key, fingerprint and metadata (never the secret)",
      configure: (cmd) =>
        cmd.argument("<file>", "NAME.key or NAME.key_secret").option("--json", "print JSON"),
      async run(options: { file: string; json?: boolean }, ctx) {
        await certified(ctx, async () => {
          const secret = options.file.endsWith("_secret");
          let view;
          if (secret) {
            const cert = readSecretCert(options.file);
            const mode = (Deno.statSync(options.file).mode ?? 0) & 0o777;
            view = {
              kind: "secret" as const,
              publicKey: cert.publicKey,
              metadata: cert.metadata,
              mode: `0${mode.toString(8)}`,
            };
          } else {
            const cert = await readCert(options.file);
            view = { kind: "public" as const, publicKey: cert.publicKey, metadata: cert.metadata };
          }
          const shown = { ...view, fingerprint: fingerprint(view.publicKey) };
          if (options.json) {
            ctx.print(JSON.stringify({
              file: options.file,
              kind: shown.kind,
              public_key: shown.publicKey,
              fingerprint: shown.fingerprint,
              metadata: shown.metadata,
            }));
          } else for (const line of showLines(options.file, shown)) ctx.print(line);
        });
      },
    },
    check: {
      summary: "Validate every certificate in DIR: format, Z85 keys, pairs, secret files 0600",
      // (not <dir>: the top-level --dir option would shadow it)
      configure: (cmd) =>
        cmd.argument("<certdir>", "certificate directory").option("--json", "JSON"),
      async run(options: { certdir: string; json?: boolean }, ctx) {
        let checks;
        try {
          checks = await checkCertDirectory(options.certdir);
        } catch (error) {
          ctx.log.error("cannot_read", { dir: options.certdir, error: (error as Error).name });
          ctx.exitCode = 2;
          return;
        }
        if (options.json) ctx.print(JSON.stringify(checks));
        else for (const line of checkLines(checks)) ctx.print(line);
        const bad = checks.filter((c) => !c.ok);
        for (const c of bad) {
          ctx.log.warn("certificate_bad", { file: c.file, problems: c.problems });
        }
        if (bad.length > 0) ctx.exitCode = 1;
      },
    },
    public: {
      summary: "Derive the public key from a secret certificate (zmq_curve_public)",
      configure: (cmd) =>
        cmd
          .argument("[file]", "NAME.key_secret (mode 0600)")
          .option("--stdin", "read a 40-character Z85 secret key from stdin instead of a file")
          .option("--write", "also (re)write NAME.key from the secret certificate"),
      async run(options: { file?: string; stdin?: boolean; write?: boolean }, ctx) {
        if (Boolean(options.stdin) === (options.file !== undefined)) {
          throw new ConfigError("public: expected exactly one of FILE or --stdin");
        }
        if (options.stdin && options.write) {
          throw new ConfigError("public: --write needs a FILE");
        }
        await certified(ctx, async () => {
          let publicKey: string;
          if (options.stdin) {
            const text = await readSmallStdin(4096);
            try {
              publicKey = curvePublic(text);
            } catch {
              throw new CertError(
                `stdin: expected a 40-character Z85 CURVE secret key, got ${text.length} characters`,
              );
            }
          } else {
            const file = options.file!;
            const cert = readSecretCert(file);
            publicKey = cert.publicKey;
            if (options.write) {
              const { publicPath } = certPaths(file);
              const existing = await Deno.readTextFile(publicPath).then(
                (text) => parseCert(text, publicPath).publicKey,
                () => undefined,
              );
              if (existing !== publicKey) {
                await Deno.writeTextFile(
                  publicPath,
                  formatCert({ publicKey, metadata: cert.metadata }),
                  { mode: 0o644 },
                );
                ctx.log.info("public_certificate_written", {
                  file: publicPath,
                  replaced: existing !== undefined,
                  fingerprint: fingerprint(publicKey),
                });
              }
            }
          }
          ctx.print(publicKey);
        });
      },
    },
  },
});
