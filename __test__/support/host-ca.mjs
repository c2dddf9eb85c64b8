// TEST ENVIRONMENT ONLY, never a package default. Where outbound TLS is re-signed by a local CA
// that only the host's CA bundle trusts (our test machines, many corporate networks), a guest's
// pnpm cannot reach the npm registry. These provider settings write the host's bundle into the
// guest before the harness bootstrap runs and point Node and npm/pnpm at it.
import { existsSync, readFileSync } from 'node:fs';

export const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const GUEST_CA_BUNDLE = '/usr/local/share/host-ca-bundle.pem';

/** `{ env, bootstrapPreCommands }` to spread into `createMicrosandbox()` settings; empty when `bundle` is missing. */
export function hostCaSettings(bundle = HOST_CA_BUNDLE) {
  if (!bundle || !existsSync(bundle)) return { env: {}, bootstrapPreCommands: [] };
  // One command per 64 KiB of base64: a single argument must stay below Linux's 128 KiB limit.
  const chunks = readFileSync(bundle).toString('base64').match(/[\s\S]{1,65536}/g) ?? [];
  return {
    env: { NODE_EXTRA_CA_CERTS: GUEST_CA_BUNDLE, npm_config_cafile: GUEST_CA_BUNDLE },
    bootstrapPreCommands: [
      `rm -f ${GUEST_CA_BUNDLE}.b64`,
      ...chunks.map((c) => `printf %s '${c}' >> ${GUEST_CA_BUNDLE}.b64`),
      `base64 -d ${GUEST_CA_BUNDLE}.b64 > ${GUEST_CA_BUNDLE} && rm ${GUEST_CA_BUNDLE}.b64`,
    ],
  };
}
