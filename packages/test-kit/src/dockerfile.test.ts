import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDockerfile } from './dockerfile.js';
import { tempHome } from './temp.js';

describe('readDockerfile', () => {
  it('reads context copies, the last stage workdir, CMD and HEALTHCHECK in exec form', () => {
    const path = join(tempHome('tether-dockerfile-'), 'Dockerfile');
    writeFileSync(
      path,
      [
        'FROM node:20 AS build',
        'WORKDIR /src',
        'COPY package.json pnpm-lock.yaml ./',
        '# a comment',
        'RUN npm ci \\',
        ' && npm run build',
        'FROM node:20-slim',
        'WORKDIR /app',
        'COPY --from=build /out /app',
        'COPY --chown=1000 LICENSE /app/',
        'HEALTHCHECK --interval=5s \\',
        '  CMD ["node", "-e", "probe()"]',
        'CMD ["node", "dist/cli.js", "--listen", "ws://0.0.0.0:1"]',
      ].join('\n'),
    );
    expect(readDockerfile(path)).toEqual({
      contextCopies: ['package.json', 'pnpm-lock.yaml', 'LICENSE'],
      workdir: '/app',
      cmd: ['node', 'dist/cli.js', '--listen', 'ws://0.0.0.0:1'],
      healthcheck: ['node', '-e', 'probe()'],
    });
  });

  it('refuses a shell-form CMD', () => {
    const path = join(tempHome('tether-dockerfile-'), 'Dockerfile');
    writeFileSync(path, 'FROM node:20\nCMD node dist/cli.js\n');
    expect(() => readDockerfile(path)).toThrow();
  });
});
