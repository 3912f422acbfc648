/**
 * The `<model_switch>` developer message (the reference's words): when a thread's turn runs on
 * another model than its previous turn did, the model is given the system prompt it now runs
 * with, framed as a switch, before anything else that turn changes.
 */
const MODEL_SWITCH_INTRO =
  'The user was previously using a different model. Please continue the conversation according to the following instructions:';

/** The message text, or undefined when there are no instructions to give (as the reference). */
export function renderModelSwitch(instructions: string): string | undefined {
  if (instructions === '') return undefined;
  return `<model_switch>\n${MODEL_SWITCH_INTRO}\n\n${instructions}\n</model_switch>`;
}
