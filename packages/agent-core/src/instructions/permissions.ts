import { isAbsolute, resolve } from 'node:path';
import type { app } from '@tether/protocol';
import { modeOfPolicy, networkAllowed } from '../sandbox-policy.js';

/**
 * The `<permissions instructions>` developer message: what the sandbox lets commands do, whether
 * they may use the network, when the user is asked, and how to ask to leave the sandbox. The
 * reference sends the same facts in its own words at the start of a thread and again whenever the
 * sandbox or the approval policy changes; this is tether's wording of what tether enforces.
 */

const OPEN = '<permissions instructions>';
const CLOSE = '</permissions instructions>';

export interface PermissionsFacts {
  sandbox: app.SandboxPolicy;
  approvalPolicy: app.AskForApproval;
  cwd: string;
  /** `$TMPDIR` of the commands, writable under workspace-write unless excluded. */
  tmpdir?: string | undefined;
}

function sandboxText(policy: app.SandboxPolicy): string {
  const network = networkAllowed(policy)
    ? 'Commands may use the network.'
    : 'Commands have no network access.';
  switch (policy.type) {
    case 'readOnly':
      return `\`sandbox_mode\` is \`read-only\`: commands run in a sandbox where every file can be read and none can be created, changed or deleted. ${network}`;
    case 'workspaceWrite':
      return `\`sandbox_mode\` is \`workspace-write\`: commands run in a sandbox where every file can be read, and files can be written only under the writable roots listed below (their \`.git\`, \`.agents\`, \`.codex\` and \`.aws\` stay read-only). Writing anywhere else needs the command to run outside the sandbox. ${network}`;
    case 'externalSandbox':
      return `\`sandbox_mode\` is \`${modeOfPolicy(policy)}\`: tether does not sandbox commands; whatever limits apply come from the sandbox tether itself runs in. ${network}`;
    default:
      return `\`sandbox_mode\` is \`${modeOfPolicy(policy)}\`: commands run without a sandbox and can read and write every file the user can. ${network}`;
  }
}

const ESCALATION_HOWTO = `# Running a command outside the sandbox

To run a command outside the sandbox, call \`exec_command\` with \`sandbox_permissions\` set to \`"require_escalated"\` and a \`justification\`: one short question the user answers with yes or no (for example "Allow installing the project's dependencies from the network?"). The user sees the command and your question, and decides. Ask right away instead of writing to the user first.

Ask when a command that matters for the task:
- failed because of the sandbox: a write outside the writable roots was refused, or the network was unreachable (a failed download, name resolution or registry access);
- has to write where the sandbox forbids it (tests writing under /var, a tool's cache in the home directory);
- opens a graphical program or a browser (\`xdg-open\`, \`open\`).

Also ask before anything destructive the user did not ask for (\`rm -rf\`, \`git reset --hard\`, \`git push --force\`), even if the sandbox would allow it. Do not look for ways around the sandbox or the user's answer. When the user accepts, they may choose to always allow commands that start the same way; such a saved rule is checked against each simple command of a line (split at \`|\`, \`&&\`, \`||\`, \`;\` and subshells), and lines using redirections, substitutions, variable assignments or globs are never matched by a rule.`;

function approvalText(policy: app.AskForApproval): string {
  if (typeof policy === 'object') {
    const g = policy.granular;
    const categories: Array<[string, boolean | null | undefined]> = [
      ['sandbox_approval', g.sandbox_approval],
      ['rules', g.rules],
      ['skill_approval', g.skill_approval],
      ['request_permissions', g.request_permissions],
      ['mcp_elicitations', g.mcp_elicitations],
    ];
    const asking = categories.filter(([, on]) => on === true).map(([name]) => `- \`${name}\``);
    const refused = categories.filter(([, on]) => on !== true).map(([name]) => `- \`${name}\``);
    const lines = [
      '`approval_policy` is `granular`: each kind of approval is either put to the user or refused without asking.',
    ];
    if (asking.length > 0) lines.push('', 'Put to the user:', ...asking);
    if (refused.length > 0) lines.push('', 'Refused without asking:', ...refused);
    if (g.sandbox_approval === true) lines.push('', ESCALATION_HOWTO);
    else {
      lines.push(
        '',
        'Leaving the sandbox is refused without asking: never set `sandbox_permissions`; when the sandbox stops a command, find another way or tell the user what to run.',
      );
    }
    return lines.join('\n');
  }
  switch (policy) {
    case 'never':
      return '`approval_policy` is `never`: the user is never asked. Never set `sandbox_permissions`: a command asking to leave the sandbox is refused. When the sandbox stops a command, find another way, or finish and tell the user what to run themselves.';
    case 'untrusted':
      return '`approval_policy` is `untrusted`: commands that only read (`ls`, `cat`, `rg`, `git status`, …) and commands the user allowed with a rule run at once; every other command waits for the user to approve it before it runs.';
    case 'on-failure':
      return '`approval_policy` is `on-failure`: commands run in the sandbox without asking; when one fails because the sandbox refused it, the user is asked whether to run it again without the sandbox.';
    default:
      return `\`approval_policy\` is \`on-request\`: commands run in the sandbox without asking; you decide when a command needs to run outside it, and the user approves each such command.\n\n${ESCALATION_HOWTO}`;
  }
}

/** The directories a workspace-write command may write, sorted as the reference lists them. */
export function writableRootsForModel(facts: PermissionsFacts): string[] {
  const policy = facts.sandbox;
  if (policy.type !== 'workspaceWrite') return [];
  const roots = new Set<string>([facts.cwd]);
  for (const root of policy.writableRoots ?? []) {
    roots.add(isAbsolute(root) ? root : resolve(facts.cwd, root));
  }
  if (policy.excludeSlashTmp !== true) roots.add('/tmp');
  if (policy.excludeTmpdirEnvVar !== true && facts.tmpdir) roots.add(facts.tmpdir);
  return [...roots].sort();
}

/** The full message text (always the whole of it: a change replaces what the model had). */
export function renderPermissions(facts: PermissionsFacts): string {
  const lines = [OPEN, sandboxText(facts.sandbox), approvalText(facts.approvalPolicy)];
  const roots = writableRootsForModel(facts).map((root) => `\`${root}\``);
  if (roots.length === 1) lines.push(`The writable root is ${roots[0]}.`);
  else if (roots.length > 1) lines.push(`The writable roots are ${roots.join(', ')}.`);
  lines.push(CLOSE);
  return lines.join('\n');
}

export function isPermissionsText(part: string): boolean {
  return part.startsWith(`${OPEN}\n`) && part.endsWith(`\n${CLOSE}`);
}
