import { readFileSync } from 'node:fs';

/** What a Dockerfile says, as far as an offline check can use it. */
export interface DockerfileFacts {
  /** Sources of `COPY` lines that copy from the build context (not `--from=<stage>`). */
  contextCopies: string[];
  /** The final stage's `WORKDIR`. */
  workdir: string | undefined;
  /** The final stage's `CMD`, which must be in exec (JSON array) form. */
  cmd: string[];
  /** The `HEALTHCHECK`'s command in exec form. */
  healthcheck: string[];
}

/** Joins continuation lines and drops comments. */
function instructions(text: string): string[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function execForm(text: string, what: string): string[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`${what} is not in exec form: ${text}`);
  }
  return parsed;
}

/** Reads the facts of a Dockerfile that an offline test can check. */
export function readDockerfile(path: string): DockerfileFacts {
  const facts: DockerfileFacts = {
    contextCopies: [],
    workdir: undefined,
    cmd: [],
    healthcheck: [],
  };
  for (const line of instructions(readFileSync(path, 'utf8'))) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    switch (keyword.toUpperCase()) {
      case 'FROM':
        facts.workdir = undefined;
        break;
      case 'WORKDIR':
        facts.workdir = args;
        break;
      case 'COPY': {
        const parts = rest.filter(
          (part) => !part.startsWith('--chown') && !part.startsWith('--chmod'),
        );
        if (parts.some((part) => part.startsWith('--from='))) break;
        facts.contextCopies.push(...parts.slice(0, -1));
        break;
      }
      case 'CMD':
        facts.cmd = execForm(args, 'CMD');
        break;
      case 'HEALTHCHECK': {
        const at = args.indexOf('CMD ');
        if (at < 0) throw new Error(`HEALTHCHECK without CMD: ${args}`);
        facts.healthcheck = execForm(args.slice(at + 4), 'HEALTHCHECK CMD');
        break;
      }
    }
  }
  return facts;
}
