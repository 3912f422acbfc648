import type { ResponseInputItem, ResponseMessage } from '../model/index.js';
import type { ThreadSettings } from '../runtime.js';
import {
  type InstructionFiles,
  type LoadedAgentsMd,
  loadAgentsMd,
  parseAgentsMd,
  renderAgentsMd,
} from './agents-md.js';
import { isCollaborationModeText, renderCollaborationMode } from './collaboration-mode.js';
import {
  type EnvironmentState,
  environmentState,
  parseEnvironmentContext,
  renderEnvironmentContext,
} from './environment-context.js';
import { isPermissionsText, renderPermissions } from './permissions.js';

/**
 * The context messages of a turn, as the reference sends them: the first turn of a thread gets a
 * developer message (the thread's developer instructions, the permissions, then the collaboration
 * mode's instructions) and a user message (the AGENTS.md instructions, then the environment
 * context) before the user's input; a later turn gets only what changed since (a `<model_switch>`
 * message of its own when the model changed; new permissions and the mode's instructions when they
 * changed, or the model did; replaced or withdrawn AGENTS.md instructions; an environment
 * update), and nothing when nothing did.
 *
 * "Since" means since what the conversation already tells the model: the last state is read back
 * from the conversation itself, so it survives a restart, follows a fork, and a conversation that
 * lost its context (compacted, or stored before tether sent any) gets all of it again.
 */

/** What the conversation has told the model so far. */
export interface ToldContext {
  /** Whether any context was ever sent (else the next turn sends all of it). */
  seen: boolean;
  permissions: string | undefined;
  /** The last `<collaboration_mode>` part. */
  collaborationMode: string | undefined;
  agentsMd: { directory: string; text: string } | undefined;
  environment: Partial<EnvironmentState>;
}

function textParts(item: ResponseInputItem): { role: string; texts: string[] } | undefined {
  if (item.type !== 'message' || !Array.isArray(item.content)) return undefined;
  const role = typeof item.role === 'string' ? item.role : '';
  const texts: string[] = [];
  for (const part of item.content as unknown[]) {
    if (typeof part !== 'object' || part === null) continue;
    const text = (part as { text?: unknown }).text;
    if (typeof text === 'string') texts.push(text);
  }
  return { role, texts };
}

/** Reads what the context messages of a conversation told the model, the latest winning. */
export function toldContext(conversation: readonly ResponseInputItem[]): ToldContext {
  const told: ToldContext = {
    seen: false,
    permissions: undefined,
    collaborationMode: undefined,
    agentsMd: undefined,
    environment: {},
  };
  for (const item of conversation) {
    const message = textParts(item);
    if (!message) continue;
    for (const text of message.texts) {
      if (message.role === 'developer' && isPermissionsText(text)) {
        told.seen = true;
        told.permissions = text;
      } else if (message.role === 'developer' && isCollaborationModeText(text)) {
        told.collaborationMode = text;
      } else if (message.role === 'user') {
        const agents = parseAgentsMd(text);
        if (agents) {
          told.agentsMd = agents;
          continue;
        }
        const environment = parseEnvironmentContext(text);
        if (environment) {
          told.seen = true;
          Object.assign(told.environment, environment);
        }
      }
    }
  }
  return told;
}

const message = (role: 'developer' | 'user', texts: string[]): ResponseMessage => ({
  type: 'message',
  role,
  content: texts.map((text) => ({ type: 'input_text' as const, text })),
});

/** What a turn's context is made of. */
export interface ContextFacts {
  permissions: string;
  agentsMd: { directory: string; text: string };
  environment: EnvironmentState;
  developerInstructions: string | null;
  /** The `<collaboration_mode>` part of the thread's mode (none without one). */
  collaborationMode?: string | undefined;
  /** The `<model_switch>` message, when the model changed since the previous turn. */
  modelSwitch?: string | undefined;
}

/** The messages that bring the model from `told` to `current` (none when it already knows). */
export function contextMessages(told: ToldContext, current: ContextFacts): ResponseMessage[] {
  const developer: string[] = [];
  const user: string[] = [];
  const agents = current.agentsMd;
  const messages: ResponseMessage[] = [];
  const mode = current.collaborationMode;
  if (!told.seen) {
    // the switch leads the rest, in the same message
    if (current.modelSwitch) developer.push(current.modelSwitch);
    if (current.developerInstructions) developer.push(current.developerInstructions);
    developer.push(current.permissions);
    if (mode) developer.push(mode);
    if (agents.text !== '') user.push(renderAgentsMd(agents.directory, agents.text));
    user.push(renderEnvironmentContext(current.environment) ?? '');
  } else {
    // a message of its own, before the other changes
    if (current.modelSwitch) messages.push(message('developer', [current.modelSwitch]));
    if (told.permissions !== current.permissions) developer.push(current.permissions);
    // the model may read the same instructions differently: a new model is told them again
    if (mode && (mode !== told.collaborationMode || current.modelSwitch)) developer.push(mode);
    const before = told.agentsMd;
    const hadText = before !== undefined && before.text !== '';
    if (agents.text === '') {
      if (hadText) user.push(renderAgentsMd(agents.directory, '', 'removal'));
    } else if (before?.text !== agents.text || before.directory !== agents.directory) {
      user.push(renderAgentsMd(agents.directory, agents.text, 'replacement'));
    }
    const environment = renderEnvironmentContext(current.environment, told.environment);
    if (environment !== undefined) user.push(environment);
  }
  if (developer.length > 0) messages.push(message('developer', developer));
  if (user.length > 0) messages.push(message('user', user));
  return messages;
}

export interface ThreadContextOptions {
  /** The state directory with the user's own AGENTS.md. */
  home?: string | undefined;
  /** Budget of the project's AGENTS.md files (32 KiB). */
  projectDocMaxBytes?: number | undefined;
  /**
   * Where the project's AGENTS.md files are read: the files of the environment the thread's
   * commands run in (undefined: this machine's). Asked when the instructions are read.
   */
  files?: () => Promise<InstructionFiles | undefined>;
  /** The shell commands run in (`/bin/bash`). */
  shell: string;
  /** `$TMPDIR` of the commands. */
  tmpdir?: string | undefined;
  /** Whether `update_plan` is offered (the Plan instructions about it are sent only then). */
  updatePlanTool?: boolean | undefined;
  /** The clock and zone of the environment context (tests pin them). */
  now?: () => Date;
  timezone?: string;
}

/**
 * A thread's context: the AGENTS.md instructions, read when the thread is loaded and again when
 * its cwd changes (as the reference reads them, not on every turn), and the messages each turn
 * starts with.
 */
export class ThreadContext {
  private loaded:
    | {
        cwd: string;
        value: Promise<{ value: LoadedAgentsMd; retry: boolean }>;
        warningsPassedOn: boolean;
      }
    | undefined;

  constructor(private readonly options: ThreadContextOptions) {}

  /**
   * The instructions for a cwd, read again only when the cwd changed, or on the next call when the
   * environment could not be reached (its files are then looked for again).
   */
  private async load(cwd: string) {
    let loaded = this.loaded;
    if (loaded?.cwd !== cwd) {
      loaded = { cwd, value: this.read(cwd), warningsPassedOn: false };
      this.loaded = loaded;
    }
    const { value, retry } = await loaded.value;
    if (retry && this.loaded === loaded) this.loaded = undefined;
    return { loaded, value };
  }

  private async read(cwd: string): Promise<{ value: LoadedAgentsMd; retry: boolean }> {
    let files: InstructionFiles | undefined;
    let problem: string | undefined;
    try {
      files = this.options.files ? await this.options.files() : undefined;
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
      // nothing of the project's can be read: none of it is given
      files = {
        readFile: () => Promise.reject(new Error(problem)),
        getMetadata: () => Promise.reject(new Error(problem)),
      };
    }
    const value = await loadAgentsMd({
      cwd,
      home: this.options.home,
      maxBytes: this.options.projectDocMaxBytes,
      files,
    });
    if (problem === undefined) return { value, retry: false };
    value.warnings.push(`The project's AGENTS.md files could not be read: ${problem}`);
    return { value, retry: true };
  }

  /** The instructions for a cwd (read when the thread is loaded, and when its cwd changes). */
  async agentsMd(cwd: string): Promise<LoadedAgentsMd> {
    return (await this.load(cwd)).value;
  }

  /**
   * The messages a turn with these settings starts with, given the conversation so far;
   * `modelSwitch` is the `<model_switch>` text when the model changed since the previous turn.
   */
  async turnMessages(
    settings: ThreadSettings,
    conversation: readonly ResponseInputItem[],
    warn: (message: string) => void,
    modelSwitch?: string,
  ): Promise<ResponseMessage[]> {
    const { loaded, value } = await this.load(settings.cwd);
    // what the budget cut is told once per reading, with the first turn that uses it
    if (!loaded.warningsPassedOn) {
      loaded.warningsPassedOn = true;
      for (const warning of value.warnings) warn(warning);
    }
    const environment = environmentState(settings, {
      shell: this.options.shell,
      ...(this.options.now ? { now: this.options.now() } : {}),
      ...(this.options.timezone ? { timezone: this.options.timezone } : {}),
    });
    return contextMessages(toldContext(conversation), {
      permissions: renderPermissions({
        sandbox: settings.sandbox,
        approvalPolicy: settings.approvalPolicy,
        cwd: settings.cwd,
        tmpdir: this.options.tmpdir,
      }),
      agentsMd: { directory: value.directory, text: value.text },
      environment,
      developerInstructions: settings.developerInstructions,
      collaborationMode: renderCollaborationMode(settings.collaborationMode, {
        updatePlanTool: this.options.updatePlanTool === true,
      }),
      modelSwitch,
    });
  }
}
