import type { app } from '@tether/protocol';
import { messageOf } from './errors.js';
import type { FunctionTool } from './model/index.js';
import type { TurnContext } from './turn-loop-runtime.js';

export const UPDATE_PLAN_TOOL_NAME = 'update_plan';

/**
 * The `update_plan` tool as the reference offers it (when `tools.update_plan.enabled` is set): the
 * model keeps a checklist that clients show as `turn/plan/updated`. Same name, description and
 * parameters, so models and prompts tuned for Codex use it unchanged.
 */
export const UPDATE_PLAN_TOOL: FunctionTool = {
  type: 'function',
  name: UPDATE_PLAN_TOOL_NAME,
  description:
    'Updates the task plan.\nProvide an optional explanation and a list of plan items, each with a step and status.\nAt most one step can be in_progress at a time.\n',
  strict: false,
  parameters: {
    type: 'object',
    properties: {
      explanation: { type: 'string', description: 'Optional explanation for this plan update.' },
      plan: {
        type: 'array',
        description: 'The list of steps',
        items: {
          type: 'object',
          properties: {
            status: {
              type: 'string',
              description: 'Step status.',
              enum: ['pending', 'in_progress', 'completed'],
            },
            step: { type: 'string', description: 'Task step text.' },
          },
          required: ['step', 'status'],
          additionalProperties: false,
        },
      },
    },
    required: ['plan'],
    additionalProperties: false,
  },
};

/** What the model is told once its plan is taken (the reference's words). */
export const PLAN_UPDATED_OUTPUT = 'Plan updated';
/** What the model is told when it calls the checklist tool in plan collaboration mode. */
export const UPDATE_PLAN_IN_PLAN_MODE =
  'update_plan is a TODO/checklist tool and is not allowed in Plan mode';

const STATUSES = ['pending', 'in_progress', 'completed'] as const;
type StepStatus = (typeof STATUSES)[number];

const WIRE_STATUS: Record<StepStatus, app.TurnPlanStepStatus> = {
  pending: 'pending',
  in_progress: 'inProgress',
  completed: 'completed',
};

function isStatus(value: unknown): value is StepStatus {
  return typeof value === 'string' && (STATUSES as readonly string[]).includes(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why the arguments do not fit the tool's parameters, in serde's words as the reference says it. */
function argumentsProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'invalid type: expected struct UpdatePlanArgs';
  if (value.explanation != null && typeof value.explanation !== 'string') {
    return 'invalid type for `explanation`: expected a string';
  }
  if (!('plan' in value)) return 'missing field `plan`';
  if (!Array.isArray(value.plan)) return 'invalid type for `plan`: expected a sequence';
  for (const item of value.plan) {
    if (!isRecord(item)) return 'invalid type: expected struct PlanItemArg';
    if (!('step' in item)) return 'missing field `step`';
    if (typeof item.step !== 'string') return 'invalid type for `step`: expected a string';
    if (!('status' in item)) return 'missing field `status`';
    if (!isStatus(item.status)) {
      return `unknown variant \`${String(item.status)}\`, expected one of ${STATUSES.map((s) => `\`${s}\``).join(', ')}`;
    }
  }
  return undefined;
}

/** The call's arguments, or what to tell the model about them. */
export function parseUpdatePlanArgs(
  json: string,
): { explanation: string | null; plan: app.TurnPlanStep[] } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { error: `failed to parse function arguments: ${messageOf(error)}` };
  }
  const problem = argumentsProblem(value);
  if (problem !== undefined || !isRecord(value) || !Array.isArray(value.plan)) {
    return { error: `failed to parse function arguments: ${problem ?? 'invalid arguments'}` };
  }
  const plan: app.TurnPlanStep[] = [];
  for (const item of value.plan) {
    // checked above; the wire spells the status in camelCase. Several steps in progress are
    // passed on as they came, as the reference does.
    if (isRecord(item) && typeof item.step === 'string' && isStatus(item.status)) {
      plan.push({ step: item.step, status: WIRE_STATUS[item.status] });
    }
  }
  return {
    explanation: typeof value.explanation === 'string' ? value.explanation : null,
    plan,
  };
}

/**
 * Runs an `update_plan` call: tells the thread's clients the new plan (`turn/plan/updated`) and
 * returns what the model is told. Refused in plan collaboration mode, where the plan is the
 * proposed plan of the reply instead.
 */
export function runUpdatePlan(
  turn: Pick<TurnContext, 'threadId' | 'turnId' | 'emit' | 'settings'>,
  argumentsJson: string,
): string {
  if (turn.settings.collaborationMode?.mode === 'plan') return UPDATE_PLAN_IN_PLAN_MODE;
  const args = parseUpdatePlanArgs(argumentsJson);
  if ('error' in args) return args.error;
  turn.emit('turn/plan/updated', {
    threadId: turn.threadId,
    turnId: turn.turnId,
    explanation: args.explanation,
    plan: args.plan,
  });
  return PLAN_UPDATED_OUTPUT;
}
