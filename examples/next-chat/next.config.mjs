import { fileURLToPath } from 'node:url';

/** @type {import('next').NextConfig} */
export default {
  // The native addon and the harness run in Node as they are, never bundled.
  serverExternalPackages: ['ai-sdk-microsandbox', '@ai-sdk/harness', '@ai-sdk/harness-claude-code'],
  // Here ai-sdk-microsandbox is this repository (file:../..): trace files from its root, and keep
  // the link's node_modules path, which is what makes it external.
  outputFileTracingRoot: fileURLToPath(new URL('../..', import.meta.url)),
  webpack: (config) => {
    config.resolve.symlinks = false;
    return config;
  },
};
