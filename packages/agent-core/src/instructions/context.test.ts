import { describe, expect, it } from 'vitest';
import type { ResponseMessage } from '../model/index.js';
import { contextMessages, toldContext } from './context.js';
import {
  environmentState,
  parseEnvironmentContext,
  renderEnvironmentContext,
  renderFilesystem,
} from './environment-context.js';
import { renderPermissions, writableRootsForModel } from './permissions.js';

const at = new Date(2026, 11, 2, 12);
const env = (cwd: string, sandbox = { type: 'readOnly' as const, networkAccess: false }) =>
  environmentState({ cwd, sandbox }, { shell: '/bin/bash', now: at, timezone: 'Etc/UTC' });

describe('the environment context', () => {
  it('renders the reference XML with the permission profile commands run under', () => {
    const text = renderEnvironmentContext(
      environmentState(
        { cwd: '/w', sandbox: { type: 'workspaceWrite', networkAccess: false } },
        { shell: '/bin/bash', now: at, timezone: 'Etc/UTC' },
      ),
    );
    expect(text).toBe(
      [
        '<environment_context>',
        '  <cwd>/w</cwd>',
        '  <shell>bash</shell>',
        '  <current_date>2026-12-02</current_date>',
        '  <timezone>Etc/UTC</timezone>',
        '  <filesystem><workspace_roots><root>/w</root></workspace_roots><permission_profile type="managed"><file_system type="restricted"><entry access="read"><special>:root</special></entry><entry access="write"><path>/w</path></entry><entry access="write"><special>:slash_tmp</special></entry><entry access="write"><special>:tmpdir</special></entry><entry access="read"><path>/w/.git</path></entry><entry access="read"><path>/w/.agents</path></entry><entry access="read"><path>/w/.codex</path></entry><entry access="read"><path>/w/.aws</path></entry></file_system></permission_profile></filesystem>',
        '</environment_context>',
      ].join('\n'),
    );
    expect(renderFilesystem({ type: 'dangerFullAccess' }, '/w')).toBe(
      '<filesystem><workspace_roots><root>/w</root></workspace_roots><permission_profile type="disabled"><file_system type="unrestricted" /></permission_profile></filesystem>',
    );
    expect(renderFilesystem({ type: 'externalSandbox', networkAccess: 'enabled' }, '/w')).toContain(
      '<permission_profile type="external"><file_system type="external" /></permission_profile>',
    );
  });

  it('sends only what changed: cwd and shell when the cwd moved, nothing when nothing did', () => {
    const first = env('/w');
    expect(renderEnvironmentContext(first, first)).toBeUndefined();
    const moved = renderEnvironmentContext(env('/w/sub'), first);
    expect(moved).toContain('<cwd>/w/sub</cwd>\n  <shell>bash</shell>');
    const unboxed = renderEnvironmentContext(
      environmentState(
        { cwd: '/w', sandbox: { type: 'dangerFullAccess' } },
        { shell: '/bin/bash', now: at, timezone: 'Etc/UTC' },
      ),
      first,
    );
    expect(unboxed).not.toContain('<cwd>');
    expect(unboxed).toContain('<current_date>2026-12-02</current_date>');
    expect(unboxed).toContain('type="disabled"');
  });

  it('reads back what it told, escaped paths included', () => {
    const state = env('/w/a&b<c>');
    expect(parseEnvironmentContext(renderEnvironmentContext(state) ?? '')).toEqual(state);
    expect(parseEnvironmentContext('<environment_context> is a tag')).toBeUndefined();
  });
});

describe('the permissions instructions', () => {
  it('state the sandbox, the network, the approval policy and the writable roots', () => {
    const ww = renderPermissions({
      sandbox: {
        type: 'workspaceWrite',
        networkAccess: true,
        writableRoots: ['/opt/cache', 'rel'],
      },
      approvalPolicy: 'on-request',
      cwd: '/w',
      tmpdir: '/var/tmp/x',
    });
    expect(ww.startsWith('<permissions instructions>\n`sandbox_mode` is `workspace-write`')).toBe(
      true,
    );
    expect(ww.endsWith('\n</permissions instructions>')).toBe(true);
    expect(ww).toContain('Commands may use the network.');
    expect(ww).toContain('`approval_policy` is `on-request`');
    expect(ww).toContain('`sandbox_permissions` set to `"require_escalated"`');
    expect(ww).toContain(
      'The writable roots are `/opt/cache`, `/tmp`, `/var/tmp/x`, `/w`, `/w/rel`.',
    );

    const ro = renderPermissions({
      sandbox: { type: 'readOnly', networkAccess: false },
      approvalPolicy: 'never',
      cwd: '/w',
    });
    expect(ro).toContain('`sandbox_mode` is `read-only`');
    expect(ro).toContain('Commands have no network access.');
    expect(ro).toContain('`approval_policy` is `never`');
    expect(ro).not.toContain('writable root');
    expect(ro).not.toContain('"require_escalated"');

    const one = writableRootsForModel({
      sandbox: { type: 'workspaceWrite', excludeSlashTmp: true, excludeTmpdirEnvVar: true },
      approvalPolicy: 'untrusted',
      cwd: '/w',
      tmpdir: '/t',
    });
    expect(one).toEqual(['/w']);
    expect(
      renderPermissions({
        sandbox: { type: 'workspaceWrite', excludeSlashTmp: true, excludeTmpdirEnvVar: true },
        approvalPolicy: 'untrusted',
        cwd: '/w',
      }),
    ).toContain('The writable root is `/w`.');
  });

  it('list which granular categories ask and which are refused', () => {
    const text = renderPermissions({
      sandbox: { type: 'readOnly' },
      approvalPolicy: {
        granular: { sandbox_approval: true, rules: false, mcp_elicitations: true },
      },
      cwd: '/w',
    });
    expect(text).toContain('Put to the user:\n- `sandbox_approval`\n- `mcp_elicitations`');
    expect(text).toContain(
      'Refused without asking:\n- `rules`\n- `skill_approval`\n- `request_permissions`',
    );
    expect(text).toContain('"require_escalated"');
  });
});

const texts = (messages: ResponseMessage[]) =>
  messages.map((m) => [m.role, m.content.map((part) => part.text.split('\n')[0])]);

describe('the context messages of a turn', () => {
  const facts = (
    cwd: string,
    agents: string,
    approvalPolicy: 'never' | 'on-request' = 'never',
  ) => ({
    permissions: renderPermissions({
      sandbox: { type: 'readOnly' },
      approvalPolicy,
      cwd,
    }),
    agentsMd: { directory: cwd, text: agents },
    environment: env(cwd),
    developerInstructions: 'be nice',
  });

  it('start a thread with developer instructions and permissions, then AGENTS.md and the environment', () => {
    const messages = contextMessages(toldContext([]), facts('/w', 'rules'));
    expect(texts(messages)).toEqual([
      ['developer', ['be nice', '<permissions instructions>']],
      ['user', ['# AGENTS.md instructions for /w', '<environment_context>']],
    ]);
  });

  it('then carry only the changes, read back from the conversation', () => {
    const first = contextMessages(toldContext([]), facts('/w', 'rules'));
    expect(contextMessages(toldContext(first), facts('/w', 'rules'))).toEqual([]);

    const approval = contextMessages(toldContext(first), facts('/w', 'rules', 'on-request'));
    expect(texts(approval)).toEqual([['developer', ['<permissions instructions>']]]);

    const moved = contextMessages(toldContext(first), facts('/w/sub', 'other rules'));
    expect(texts(moved)).toEqual([
      ['user', ['# AGENTS.md instructions for /w/sub', '<environment_context>']],
    ]);
    expect(moved[0]?.content[0]?.text).toContain(
      'These AGENTS.md instructions replace all previously provided AGENTS.md instructions.\n\nother rules',
    );

    const gone = contextMessages(toldContext([...first, ...moved]), facts('/w/sub', ''));
    expect(gone[0]?.content[0]?.text).toContain(
      'The previously provided AGENTS.md instructions no longer apply.',
    );
    // once withdrawn, nothing more to say about them
    expect(
      contextMessages(toldContext([...first, ...moved, ...gone]), facts('/w/sub', '')),
    ).toEqual([]);
  });
});
