/**
 * The SCRAM-SHA-256 verifier the bot sends instead of a password: checked against RFC 7677's own
 * exchange (the server's checks, done with the verifier alone), against the verifier PostgreSQL
 * itself stores for the same password and salt, and by logging in with it.
 */
import { createHash, createHmac } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePassword } from '../../../src/ops/postgres/generate-password.js';
import { withConnection } from '../../../src/ops/postgres/databases.js';
import { rolePasswordStatement, setRoleVerifier } from '../../../src/ops/postgres/role-password.js';
import { SCRAM_ITERATIONS, scramSha256Keys, scramSha256Verifier } from '../../../src/ops/postgres/scram-verifier.js';
import { startTestPostgres } from '../../support/postgres.js';
import { useScramAuthentication } from '../../support/scram-hba.js';

// RFC 7677 section 3: user "user", password "pencil".
const RFC = {
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  authMessage:
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

describe('scramSha256Verifier', () => {
  it("verifies RFC 7677's exchange as a server holding only the verifier would", async () => {
    const verifier = await scramSha256Verifier('pencil', { salt: Buffer.from(RFC.salt, 'base64') });
    const [, iterations, salt, storedKey, serverKey] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier) ?? [];
    expect(Number(iterations)).toBe(4096);
    expect(salt).toBe(RFC.salt);
    // The server's signature, which the client checks.
    expect(createHmac('sha256', Buffer.from(serverKey ?? '', 'base64')).update(RFC.authMessage).digest('base64')).toBe(RFC.serverSignature);
    // The client's proof, which the server checks: ClientKey = proof XOR HMAC(StoredKey, AuthMessage), H(ClientKey) = StoredKey.
    const signature = createHmac('sha256', Buffer.from(storedKey ?? '', 'base64')).update(RFC.authMessage).digest();
    const clientKey = Buffer.from(Buffer.from(RFC.clientProof, 'base64').map((b, i) => b ^ (signature[i] ?? 0)));
    expect(createHash('sha256').update(clientKey).digest('base64')).toBe(storedKey);
  });

  it('uses 4096 iterations and a fresh 16-byte salt each time', async () => {
    const a = await scramSha256Keys('same-password');
    const b = await scramSha256Keys('same-password');
    expect(a.iterations).toBe(SCRAM_ITERATIONS);
    expect(a.salt).toHaveLength(16);
    expect(a.salt.equals(b.salt)).toBe(false);
    expect(a.storedKey.equals(b.storedKey)).toBe(false);
  });

  it('refuses passwords SASLprep could change (not printable ASCII)', async () => {
    await expect(scramSha256Verifier('pässword')).rejects.toThrow(/printable ASCII/);
    await expect(scramSha256Verifier('with space')).rejects.toThrow(/printable ASCII/);
  });

  it('ALTER ROLE carries nothing but a well-formed verifier', async () => {
    const verifier = await scramSha256Verifier(generatePassword());
    expect(rolePasswordStatement('recipe_api', verifier)).toBe(`ALTER ROLE "recipe_api" PASSWORD '${verifier}'`);
    expect(() => rolePasswordStatement('recipe_api', "plain'; DROP ROLE x; --")).toThrow(/not a SCRAM-SHA-256 verifier/);
  });
});

describe('generatePassword', () => {
  it('gives 32 random bytes as 43 base64url characters, different each time', () => {
    const passwords = new Set(Array.from({ length: 50 }, generatePassword));
    expect(passwords.size).toBe(50);
    for (const p of passwords) {
      expect(p).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(p, 'base64url')).toHaveLength(32);
    }
  });
});

describe('the verifier against PostgreSQL 15', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;

  beforeAll(async () => {
    server = await startTestPostgres();
    await useScramAuthentication(server.pg);
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('is what PostgreSQL itself stores for the same password and salt', async () => {
    const stored = await withConnection(server.pg.url(), async (client) => {
      await client.query(`SET password_encryption = 'scram-sha-256'`);
      await client.query(`CREATE ROLE scram_same LOGIN PASSWORD 'pencil-and-paper'`);
      const { rows } = await client.query<{ rolpassword: string }>(`SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_same'`);
      return rows[0]?.rolpassword ?? '';
    });
    const salt = /^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(stored)?.[1] ?? '';
    expect(await scramSha256Verifier('pencil-and-paper', { salt: Buffer.from(salt, 'base64') })).toBe(stored);
  });

  it('logs in with the password whose verifier was set, and not with another', async () => {
    const password = generatePassword();
    await withConnection(server.pg.url(), async (client) => {
      await client.query('CREATE ROLE scram_login LOGIN');
      await setRoleVerifier(client, 'scram_login', await scramSha256Verifier(password));
    });
    const login = async (pw: string): Promise<string> => {
      const client = new pg.Client({ host: server.pg.host, port: server.pg.port, database: 'postgres', user: 'scram_login', password: pw });
      try {
        await client.connect();
        return (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u ?? '';
      } catch (error) {
        return (error as { code?: string }).code ?? 'error';
      } finally {
        await client.end().catch(() => undefined);
      }
    };
    expect(await login(password)).toBe('scram_login');
    expect(await login(generatePassword())).toBe('28P01');
  });
});
