import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  extractProposedPlanText,
  ProposedPlanParser,
  type ProposedPlanSegment,
  stripProposedPlanBlocks,
} from './proposed-plan.js';

function parse(chunks: string[]): ProposedPlanSegment[] {
  const parser = new ProposedPlanParser();
  return [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.finish()];
}

/** Adjacent pieces of the same kind joined, so results can be compared however chunks fell. */
function joined(segments: ProposedPlanSegment[]): ProposedPlanSegment[] {
  const out: ProposedPlanSegment[] = [];
  for (const segment of segments) {
    const last = out.at(-1);
    if (
      last &&
      (last.kind === 'text' || last.kind === 'planText') &&
      last.kind === segment.kind &&
      'text' in segment
    ) {
      last.text += segment.text;
    } else out.push({ ...segment });
  }
  return out;
}

describe('ProposedPlanParser', () => {
  it('splits a reply streamed with a tag cut across chunks (as the reference observed)', () => {
    expect(
      parse([
        'Here is my plan.\n<propo',
        'sed_plan>\n# Plan\n- step one\n',
        '- step two\n</proposed_plan>\nAfter.',
      ]),
    ).toEqual([
      { kind: 'text', text: 'Here is my plan.\n' },
      { kind: 'planStart' },
      { kind: 'planText', text: '# Plan\n- step one\n' },
      { kind: 'planText', text: '- step two\n' },
      { kind: 'planEnd' },
      { kind: 'text', text: 'After.' },
    ]);
  });

  it('streams text at once when a line cannot be a tag, and holds back one that might', () => {
    const parser = new ProposedPlanParser();
    expect(parser.push('Hello <prop')).toEqual([{ kind: 'text', text: 'Hello <prop' }]);
    expect(parser.push('\n  <propos')).toEqual([{ kind: 'text', text: '\n' }]);
    expect(parser.push('ed_plan>\nx')).toEqual([
      { kind: 'planStart' },
      { kind: 'planText', text: 'x' },
    ]);
  });

  it('keeps a tag that shares its line with other text, and tags that do not match the state', () => {
    // as in the reference, a tag line is known once it could not be anything else: a space after
    // the tag makes it text
    expect(parse(['<proposed_plan> \n'])).toEqual([{ kind: 'text', text: '<proposed_plan> \n' }]);
    expect(parse(['  <proposed_plan> extra\n'])).toEqual([
      { kind: 'text', text: '  <proposed_plan> extra\n' },
    ]);
    expect(parse(['</proposed_plan>\nok'])).toEqual([
      { kind: 'text', text: '</proposed_plan>\nok' },
    ]);
    expect(parse(['<proposed_plan>\n<proposed_plan>\n</proposed_plan>\n'])).toEqual([
      { kind: 'planStart' },
      { kind: 'planText', text: '<proposed_plan>\n' },
      { kind: 'planEnd' },
    ]);
  });

  it('closes a block left open at the end, and a close tag without a final newline', () => {
    expect(parse(['<proposed_plan>\n- step 1\n'])).toEqual([
      { kind: 'planStart' },
      { kind: 'planText', text: '- step 1\n' },
      { kind: 'planEnd' },
    ]);
    expect(parse(['<proposed_plan>\n- step 1\n</proposed_plan>'])).toEqual([
      { kind: 'planStart' },
      { kind: 'planText', text: '- step 1\n' },
      { kind: 'planEnd' },
    ]);
  });

  it('strips the blocks from the message and extracts the last plan', () => {
    const text =
      'before\n<proposed_plan>\n- a\n</proposed_plan>\nmid\n<proposed_plan>\n- b\n</proposed_plan>\nafter';
    expect(stripProposedPlanBlocks(text)).toBe('before\nmid\nafter');
    expect(extractProposedPlanText(text)).toBe('- b\n');
    expect(extractProposedPlanText('no plan here')).toBeNull();
  });

  it('gives the same result however the reply is cut into chunks', () => {
    const piece = fc.constantFrom(
      '<proposed_plan>',
      '</proposed_plan>',
      '\n',
      '  ',
      '<',
      '</',
      'text',
      '- step',
      'é',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (pieces, cuts) => {
          const text = pieces.join('');
          const points = [
            ...new Set(cuts.map((c) => (text.length === 0 ? 0 : c % text.length))),
          ].sort((a, b) => a - b);
          const chunks: string[] = [];
          let at = 0;
          for (const p of points) {
            chunks.push(text.slice(at, p));
            at = p;
          }
          chunks.push(text.slice(at));
          const whole = joined(parse([text]));
          expect(joined(parse(chunks))).toEqual(whole);
          // nothing is lost: visible text, plan text and tag lines add up to the reply
          const visible = whole
            .filter((s) => s.kind === 'text')
            .map((s) => s.text)
            .join('');
          expect(visible).toBe(stripProposedPlanBlocks(text));
        },
      ),
    );
  });
});
