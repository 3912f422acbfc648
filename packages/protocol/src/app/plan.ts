/**
 * Plans: the checklist the `update_plan` tool reports (`turn/plan/updated`) and the proposed plan
 * of plan collaboration mode, streamed as `plan` items (`item/plan/delta`).
 */
import { z } from 'zod';

/** A checklist step's state; the tool's `in_progress` goes on the wire as `inProgress`. */
export const TurnPlanStepStatus = z.enum(['pending', 'inProgress', 'completed']);
export type TurnPlanStepStatus = z.infer<typeof TurnPlanStepStatus>;

export const TurnPlanStep = z.looseObject({ step: z.string(), status: TurnPlanStepStatus });
export type TurnPlanStep = z.infer<typeof TurnPlanStep>;

/** The whole plan as the model last set it (not a diff), with its optional explanation. */
export const TurnPlanUpdatedNotification = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  explanation: z.string().nullish(),
  plan: z.array(TurnPlanStep),
});
export type TurnPlanUpdatedNotification = z.infer<typeof TurnPlanUpdatedNotification>;

/**
 * Text of a `plan` item as it streams. The completed item is authoritative: the deltas need not
 * add up to its text.
 */
export const PlanDeltaNotification = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  itemId: z.string(),
  delta: z.string(),
});
export type PlanDeltaNotification = z.infer<typeof PlanDeltaNotification>;
