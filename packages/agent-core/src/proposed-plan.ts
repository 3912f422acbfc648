import { agentMessageItem, completeItem, type ItemEmitter, startItem } from './items.js';

export const PROPOSED_PLAN_OPEN_TAG = '<proposed_plan>';
export const PROPOSED_PLAN_CLOSE_TAG = '</proposed_plan>';

/** A piece of a streamed reply: visible text, or the proposed plan block's start, text and end. */
export type ProposedPlanSegment =
  | { kind: 'text'; text: string }
  | { kind: 'planStart' }
  | { kind: 'planText'; text: string }
  | { kind: 'planEnd' };

/**
 * Splits a reply streamed in arbitrary chunks into visible text and `<proposed_plan>` blocks, as
 * plan collaboration mode asks the model to write them: a tag counts only on a line of its own
 * (surrounding whitespace allowed), and the tag lines themselves belong to neither. A line is held
 * back only while it could still turn out to be a tag line, so text streams on as it arrives.
 */
export class ProposedPlanParser {
  private inPlan = false;
  /** At the start of a line, collecting it while it may be a tag. */
  private atLineStart = true;
  private line = '';

  push(chunk: string): ProposedPlanSegment[] {
    const out: ProposedPlanSegment[] = [];
    let run = '';
    for (const ch of chunk) {
      if (!this.atLineStart) {
        run += ch;
        if (ch === '\n') {
          this.text(out, run);
          run = '';
          this.atLineStart = true;
        }
        continue;
      }
      this.line += ch;
      if (ch === '\n') {
        this.endLine(out, this.line);
        this.line = '';
        continue;
      }
      const head = this.line.trimStart();
      if (head === '' || couldBeTag(head)) continue;
      // this line cannot be a tag line: let it through and stream the rest of it
      this.text(out, this.line);
      this.line = '';
      this.atLineStart = false;
    }
    if (run !== '') this.text(out, run);
    return out;
  }

  /** The end of the reply: a held-back last line is decided, an open block is closed. */
  finish(): ProposedPlanSegment[] {
    const out: ProposedPlanSegment[] = [];
    if (this.line !== '') this.endLine(out, this.line);
    this.line = '';
    this.atLineStart = true;
    if (this.inPlan) {
      out.push({ kind: 'planEnd' });
      this.inPlan = false;
    }
    return out;
  }

  private endLine(out: ProposedPlanSegment[], line: string): void {
    const tag = line.trim();
    if (tag === PROPOSED_PLAN_OPEN_TAG && !this.inPlan) {
      this.inPlan = true;
      out.push({ kind: 'planStart' });
    } else if (tag === PROPOSED_PLAN_CLOSE_TAG && this.inPlan) {
      this.inPlan = false;
      out.push({ kind: 'planEnd' });
    } else {
      this.text(out, line);
    }
  }

  private text(out: ProposedPlanSegment[], text: string): void {
    if (text === '') return;
    const kind = this.inPlan ? 'planText' : 'text';
    const last = out.at(-1);
    if (last !== undefined && last.kind === kind) last.text += text;
    else out.push({ kind, text });
  }
}

function couldBeTag(head: string): boolean {
  return PROPOSED_PLAN_OPEN_TAG.startsWith(head) || PROPOSED_PLAN_CLOSE_TAG.startsWith(head);
}

function segmentsOf(text: string): ProposedPlanSegment[] {
  const parser = new ProposedPlanParser();
  return [...parser.push(text), ...parser.finish()];
}

/** The reply without its proposed plan blocks (what the agent message shows). */
export function stripProposedPlanBlocks(text: string): string {
  let visible = '';
  for (const segment of segmentsOf(text)) if (segment.kind === 'text') visible += segment.text;
  return visible;
}

/** The text of the reply's last proposed plan block; null when it has none. */
export function extractProposedPlanText(text: string): string | null {
  let plan: string | null = null;
  for (const segment of segmentsOf(text)) {
    if (segment.kind === 'planStart') plan = '';
    else if (segment.kind === 'planText') plan = (plan ?? '') + segment.text;
  }
  return plan;
}

/**
 * One assistant message of a plan-mode turn, as the reference shows it: visible text streams as
 * the agent message (announced with its first visible text, so a reply that is only a plan has no
 * agent message), the proposed plan streams as a `plan` item (`<turnId>-plan`,
 * `item/plan/delta`), and when the message is done the plan item completes, then the message.
 */
export class PlanModeMessage {
  private readonly parser = new ProposedPlanParser();
  private messageStarted = false;
  private planStartedAtMs: number | undefined;
  private planText = '';

  constructor(
    private readonly turn: ItemEmitter,
    private readonly itemId: string,
    private readonly startedAtMs: number,
  ) {}

  private get planItemId(): string {
    return `${this.turn.turnId}-plan`;
  }

  push(delta: string): void {
    this.emit(this.parser.push(delta));
  }

  /** The message is done: `text` is all of it, as the model sent it. */
  finish(text: string): void {
    this.emit(this.parser.finish());
    if (this.planStartedAtMs !== undefined) {
      completeItem(this.turn, {
        type: 'plan',
        id: this.planItemId,
        text: extractProposedPlanText(text) ?? this.planText,
        startedAtMs: this.planStartedAtMs,
        completedAtMs: null,
      });
    }
    const visible = stripProposedPlanBlocks(text);
    if (!this.messageStarted && visible !== '') this.startMessage();
    if (this.messageStarted) {
      completeItem(this.turn, agentMessageItem(this.itemId, visible, this.startedAtMs));
    }
  }

  private startMessage(): void {
    this.messageStarted = true;
    startItem(this.turn, agentMessageItem(this.itemId, '', this.startedAtMs), this.startedAtMs);
  }

  private emit(segments: ProposedPlanSegment[]): void {
    const ids = { threadId: this.turn.threadId, turnId: this.turn.turnId };
    for (const segment of segments) {
      switch (segment.kind) {
        case 'text':
          if (!this.messageStarted) this.startMessage();
          this.turn.emit('item/agentMessage/delta', {
            ...ids,
            itemId: this.itemId,
            delta: segment.text,
          });
          break;
        case 'planStart':
          if (this.planStartedAtMs === undefined) {
            this.planStartedAtMs = Date.now();
            startItem(
              this.turn,
              {
                type: 'plan',
                id: this.planItemId,
                text: '',
                startedAtMs: this.planStartedAtMs,
                completedAtMs: null,
              },
              this.planStartedAtMs,
            );
          }
          break;
        case 'planText':
          this.planText += segment.text;
          this.turn.emit('item/plan/delta', {
            ...ids,
            itemId: this.planItemId,
            delta: segment.text,
          });
          break;
        case 'planEnd':
          break;
      }
    }
  }
}
